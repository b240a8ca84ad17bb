// What the API and the CLI may ask of deployments beyond reading them. The service controller
// implements it; the API routes only call it.
import type { Service } from '../core/schema/types.generated.js';
import type { DeploymentRecord } from '../store/deployments.js';

export interface DeploymentActions {
  /** Converge the Service now, once, whatever its drift policy; recorded as a deployment (trigger `user`). */
  sync(service: Service, actor: string): Promise<DeploymentRecord>;
  /** Redeploy the frozen input of `toRevision` (default: the completed revision before the current one). */
  rollback(service: Service, toRevision: number | undefined, actor: string): Promise<DeploymentRecord>;
  /** Ask a running deployment to stop; it ends `canceled` at its next step boundary. */
  cancel(deploymentId: string, actor: string): Promise<DeploymentRecord>;
}
