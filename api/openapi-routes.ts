// GET /openapi/v2 and /openapi/v3: the kinds' schemas as kubectl reads them (core/openapi). v2 comes
// in protocol buffers when asked for them (kubectl 1.20 asks for nothing else) and in JSON
// otherwise; v3 is a discovery document naming the group-version's document by a hash of its
// content, and that document, which a client holding the hash may cache for good. Built once: the
// schemas are part of the build.
import { Router } from 'express';
import { GROUP, KINDS, VERSION } from '../core/resource.js';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../core/openapi/protobuf.js';
import { openApiV2Document, type PublishedKind, type V2Document } from '../core/openapi/v2.js';
import { documentHash, groupVersionPath, openApiV3Discovery, openApiV3Document, type V3Document } from '../core/openapi/v3.js';
import { schemaFor } from '../core/schema/validate.js';

export const OPENAPI_V2_PATH = '/openapi/v2';
export const OPENAPI_V3_PATH = '/openapi/v3';
export const OPENAPI_V3_GROUP_VERSION_PATH = `${OPENAPI_V3_PATH}/${groupVersionPath(GROUP, VERSION)}`;

function publishedKinds(): PublishedKind[] {
  return KINDS.flatMap((k) => {
    const schema = schemaFor(k.kind);
    return schema ? [{ group: GROUP, version: VERSION, kind: k.kind, plural: k.plural, namespaced: k.namespaced, schema }] : [];
  });
}

export function openApiRouter(version: string): Router {
  let v2: V2Document | undefined;
  let protobuf: Buffer | undefined;
  let v3: { document: V3Document; hash: string } | undefined;
  const builtV3 = () => {
    if (!v3) {
      const document = openApiV3Document(publishedKinds(), 'Holdfast', version);
      v3 = { document, hash: documentHash(document) };
    }
    return v3;
  };
  const r = Router();
  r.get(OPENAPI_V2_PATH, (req, res) => {
    v2 ??= openApiV2Document(publishedKinds(), 'Holdfast', version);
    if ((req.get('accept') ?? '').includes(OPENAPI_V2_PROTOBUF)) {
      protobuf ??= encodeOpenApiV2(v2);
      res.setHeader('Content-Type', OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
      res.send(protobuf);
      return;
    }
    res.json(v2);
  });
  r.get(OPENAPI_V3_PATH, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache, private');
    res.json(openApiV3Discovery([{ path: groupVersionPath(GROUP, VERSION), hash: builtV3().hash }]));
  });
  r.get(OPENAPI_V3_GROUP_VERSION_PATH, (req, res) => {
    const { document, hash } = builtV3();
    const asked = typeof req.query.hash === 'string' ? req.query.hash : undefined;
    // As kube-apiserver: an outdated hash is sent on to the current document.
    if (asked !== undefined && asked !== hash) {
      res.redirect(301, `${OPENAPI_V3_GROUP_VERSION_PATH}?hash=${hash}`);
      return;
    }
    res.setHeader('Cache-Control', asked ? 'public, immutable' : 'no-cache, private');
    res.setHeader('ETag', `"${hash}"`);
    res.json(document);
  });
  return r;
}
