/** What `learn stack` reports for one service. */
export interface ServiceStatus {
  service: 'kafka' | 'redis';
  /** running: started by this stack; foreign: something else answers on the port; external: KAFKA_BROKERS/REDIS_URL set. */
  state: 'running' | 'stopped' | 'foreign' | 'external';
  address: string;
  pid?: number;
  answers?: boolean;
  note?: string;
}
