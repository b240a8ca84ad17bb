import type { Condition } from '../api/types.js';
import { conditionTone, StateBadge } from './badges.js';
import { Empty } from './states.js';
import { Time } from './time.js';

export function Conditions({ conditions }: { conditions: Condition[] | undefined }) {
  if (!conditions?.length) return <Empty title="No conditions reported yet">A controller writes them when it observes this object.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table table--compact">
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
              <th scope="row">{c.type}</th>
              <td>
                <StateBadge tone={conditionTone(c)} label={c.status} />
              </td>
              <td>{c.reason}</td>
              <td className="wrap">{c.message}</td>
              <td>
                <Time iso={c.lastTransitionTime} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
