// The role side of authorization, with I/O: reads the bindings and Roles from the store and asks the
// pure decision (core/authz/rbac.ts). Built-in roles need no object; a Role of the same name cannot
// exist (admission refuses it).
import { BUILT_IN_ROLES, decide, type AccessDecision, type AccessRequest, type Binding, type Subject } from '../core/authz/rbac.js';
import type { RoleBindingSpec, RoleSpec } from '../core/schema/types.generated.js';
import type { ResourceStore } from '../store/resource-store.js';

export class Authorizer {
  constructor(private readonly store: ResourceStore) {}

  async decide(subject: Subject, tokenScopes: readonly string[], request: AccessRequest): Promise<AccessDecision> {
    const bindings = await this.bindingsFor(request.namespace);
    const custom = new Map<string, RoleSpec>();
    for (const name of new Set(bindings.map((b) => b.spec.roleRef.name))) {
      if (BUILT_IN_ROLES[name]) continue;
      const role = await this.store.get('Role', undefined, name);
      if (role?.spec && !role.metadata.deletionTimestamp) custom.set(name, role.spec as unknown as RoleSpec);
    }
    return decide({ subject, tokenScopes, bindings, roles: (name) => BUILT_IN_ROLES[name] ?? custom.get(name)?.rules, request });
  }

  /** Every ClusterRoleBinding, and the RoleBindings of the request's project. */
  private async bindingsFor(namespace: string | undefined): Promise<Binding[]> {
    const cluster = (await this.store.list('ClusterRoleBinding')).items;
    const project = namespace ? (await this.store.list('RoleBinding', { namespace })).items : [];
    return [...cluster, ...project]
      .filter((o) => !o.metadata.deletionTimestamp)
      .map((o) => ({ name: o.metadata.name, namespace: o.metadata.namespace || undefined, spec: o.spec as unknown as RoleBindingSpec }));
  }
}
