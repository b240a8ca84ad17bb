import type { Condition } from '../api/types.js';
import { conditionTone } from '../model/status.js';
import { StateBadge } from './badges.js';
import { Empty } from './states.js';
import { Time } from './time.js';

export function Conditions({ conditions }: { conditions: Condition[] | undefined }) {
  if (!conditions?.length) return <Empty title="No conditions reported yet">A controller writes them when it observes this object.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table table--compact table--cards">
        <thead>
          <tr>
            <th scope="col">Condition</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Message</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {conditions.map((c) => (
            <tr key={c.type}>
              <th scope="row" data-label="Condition">
                {c.type}
              </th>
              <td data-label="Status">
                <StateBadge tone={conditionTone(c)} label={c.status} />
              </td>
              <td data-label="Reason">{c.reason}</td>
              <td data-label="Message" className="wrap">
                {c.message}
              </td>
              <td data-label="Since">
                <Time iso={c.lastTransitionTime} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
