/** An error that names why it happened with a machine-readable reason, for callers that branch on it. */
export class ReasonError<R extends string> extends Error {
  constructor(
    readonly reason: R,
    message: string,
    name: string,
  ) {
    super(message);
    this.name = name;
  }
}
