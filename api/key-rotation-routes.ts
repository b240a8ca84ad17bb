// Encryption key rotation over HTTP (secret:rotate in the route table):
//   POST /apis/holdfast.dev/v1alpha1/encryptionkey/rotate
// Starts a rotation, or finishes one that was cut short; answers when every row is re-encrypted.
import { Router } from 'express';
import { API_VERSION } from '../core/resource.js';
import type { KeyRotation } from '../security/key-rotation.js';
import { actorOf } from './auth.js';
import { API_BASE } from './scopes.js';

export function keyRotationRouter(rotation: KeyRotation): Router {
  const r = Router();
  r.post(`${API_BASE}/encryptionkey/rotate`, async (req, res) => {
    const result = await rotation.rotate(actorOf(req));
    res.json({ apiVersion: API_VERSION, kind: 'EncryptionKeyRotation', ...result });
  });
  return r;
}
