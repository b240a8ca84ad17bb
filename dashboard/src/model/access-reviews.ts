// The answers of one session's access reviews ("may I VERB RESOURCE in PROJECT?"), by question: a
// question is asked once, a pending answer is shared by everyone who asks, and a question that
// failed is asked again next time. Pure: the asking is passed in.
export interface AccessQuestion {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export type Access = 'asking' | 'allowed' | 'refused' | { unknown: string };

export type Ask = (question: AccessQuestion) => Promise<boolean>;

/** The answers of one session, by question; a pending answer is shared by everyone who asks. */
export class AccessReviews {
  private readonly answers = new Map<string, Promise<boolean>>();
  private readonly settled = new Map<string, boolean>();

  constructor(private readonly ask: Ask) {}

  /** The answer already known, without asking. */
  known(question: AccessQuestion): boolean | undefined {
    return this.settled.get(questionKey(question));
  }

  may(question: AccessQuestion): Promise<boolean> {
    const key = questionKey(question);
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.ask(question).then(
        (allowed) => {
          this.settled.set(key, allowed);
          return allowed;
        },
        (err: unknown) => {
          this.answers.delete(key);
          throw err;
        },
      );
      this.answers.set(key, answer);
    }
    return answer;
  }
}

export function questionKey(q: AccessQuestion): string {
  return JSON.stringify([q.verb, q.resource, q.namespace ?? '', q.name ?? '']);
}
