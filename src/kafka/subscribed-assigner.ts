import kafkajs, { type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** Topic -> partition ids, per member id. */
export type PlannedAssignment = Map<string, Map<string, number[]>>;

/**
 * Deals each topic's partitions round-robin over the members SUBSCRIBED to that topic, members in id order.
 * kafkajs's own round-robin deals every topic over every member of the group, and a member drops the topics it did not
 * subscribe to: two pipelines sharing a group name would each silently stop reading part of the other's topics.
 */
export function planAssignment(subscriptions: ReadonlyMap<string, readonly string[]>, partitionsOf: (topic: string) => readonly number[]): PlannedAssignment {
  const members = [...subscriptions.keys()].sort();
  const plan: PlannedAssignment = new Map(members.map((m) => [m, new Map<string, number[]>()]));
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  // One counter over all topics, as kafkajs's assigner does, so single-partition topics spread over the members too.
  let turn = 0;
  for (const topic of topics) {
    const takers = members.filter((m) => subscriptions.get(m)?.includes(topic));
    for (const partition of [...partitionsOf(topic)].sort((a, b) => a - b)) {
      const member = takers[turn++ % takers.length]!;
      const mine = plan.get(member)!;
      mine.set(topic, [...(mine.get(topic) ?? []), partition]);
    }
  }
  return plan;
}

/** The name members announce: every member of a group must offer it (kafkajs's round-robin stays offered second). */
export const SUBSCRIBED_ROUND_ROBIN = 'SubscribedRoundRobin';

/** planAssignment as a kafkajs partition assigner: members' subscriptions come from their join metadata. */
export const subscribedRoundRobin: PartitionAssigner = ({ cluster }) => ({
  name: SUBSCRIBED_ROUND_ROBIN,
  version: 0,
  protocol: ({ topics }) => ({ name: SUBSCRIBED_ROUND_ROBIN, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }),
  async assign({ members }: { members: GroupMember[] }): Promise<GroupMemberAssignment[]> {
    const subscriptions = new Map(members.map((m) => [m.memberId, AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? []]));
    // The leader's client knows the metadata of its own topics only (kafkajs even hands an assigner the leader's
    // topics alone): fetch the others' before dealing them.
    await cluster.addMultipleTargetTopics([...new Set([...subscriptions.values()].flat())]);
    const plan = planAssignment(subscriptions, (topic) => cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId));
    return [...plan].map(([memberId, topics]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: Object.fromEntries(topics), userData: Buffer.alloc(0) }),
    }));
  },
});
