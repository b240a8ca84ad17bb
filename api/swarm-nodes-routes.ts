// Node operations on a manager Server's swarm (controllers/servers/swarm-node-operations.ts):
//   POST …/servers/{name}/nodes/{node}/availability {availability: drain|pause|active, timeoutSeconds}   (server:drain)
// A drain answers once the node's tasks run elsewhere, or the timeout passed (complete: false). One
// audit row and one event on the Server say what changed and where the tasks went.
import { Router } from 'express';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION } from '../core/resource.js';
import { NODE_AVAILABILITIES, type NodeAvailability } from '../core/swarm/node-availability.js';
import type { EventRecorder } from '../controllers/events.js';
import { describeNodeOperation, type SwarmNodeOperations } from '../controllers/servers/swarm-node-operations.js';
import { writeAudit } from '../store/audit.js';
import type { ResourceStore } from '../store/resource-store.js';
import { actorOf } from './auth.js';
import { API_BASE } from './scopes.js';

export const SWARM_NODE_AVAILABILITY_PATH = `${API_BASE}/servers/:name/nodes/:node/availability`;

const DEFAULT_TIMEOUT_SECONDS = 120;
const MAX_TIMEOUT_SECONDS = 3600;
const VERB: Record<NodeAvailability, string> = { drain: 'drain', pause: 'pause', active: 'activate' };

export interface SwarmNodesRoutesDeps {
  store: ResourceStore;
  /** Without it (no controllers in this process) the route answers 503. */
  nodes?: SwarmNodeOperations;
  events?: EventRecorder;
}

export function swarmNodesRouter(deps: SwarmNodesRoutesDeps): Router {
  const r = Router();
  r.post(SWARM_NODE_AVAILABILITY_PATH, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const availability = body.availability;
    if (typeof availability !== 'string' || !(NODE_AVAILABILITIES as readonly string[]).includes(availability)) {
      throw new HoldfastError('BadRequest', `availability must be one of ${NODE_AVAILABILITIES.join(', ')}, got ${JSON.stringify(availability ?? null)}`, {
        causes: [{ field: 'availability', message: `one of ${NODE_AVAILABILITIES.join(', ')}`, reason: 'FieldValueNotSupported' }],
      });
    }
    const timeout = body.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_SECONDS) {
      throw new HoldfastError('BadRequest', `timeoutSeconds must be a whole number from 0 to ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(timeout)}`, {
        causes: [{ field: 'timeoutSeconds', message: `a whole number from 0 to ${MAX_TIMEOUT_SECONDS}`, reason: 'FieldValueInvalid' }],
      });
    }
    if (!deps.nodes) throw new HoldfastError('ServiceUnavailable', 'node operations need the controllers, which do not run in this process');
    const server = await deps.store.mustGet('Server', undefined, String(req.params.name));
    // A client that went away ends the wait; the availability it asked for stays set.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const result = await deps.nodes.setAvailability(server, String(req.params.node), { availability: availability as NodeAvailability, timeoutMs: timeout * 1000 }, gone.signal);
    const message = describeNodeOperation(result);
    const verb = VERB[availability as NodeAvailability];
    await writeAudit(deps.store.db, { ...actorOf(req), verb, kind: 'Server', name: server.metadata.name, outcome: result.complete ? 'Success' : 'Failure', message }, new Date());
    await deps.events?.record(server, result.complete ? 'Normal' : 'Warning', result.complete ? 'NodeAvailabilityChanged' : 'NodeDrainIncomplete', `${actorOf(req).actor}: ${message}`).catch(() => undefined);
    res.json({ apiVersion: API_VERSION, kind: 'SwarmNodeOperation', server: server.metadata.name, message, ...result });
  });
  return r;
}
