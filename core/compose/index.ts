// Compose as a Service source: load (YAML, interpolation, validation, extends, profiles) and map
// onto the container model.
export { composeError, loadCompose, parseComposeYaml, INLINE_LABEL, type ComposeSource, type LoadComposeOptions, type LoadedCompose, type SourceReader } from './load.js';
export { mapCompose, type ComposeMapping, type MapComposeContext, type MappedComponent } from './map.js';
export { MAX_FILE_BYTES, parseSecretReference } from './files.js';
export { splitShellWords } from './values.js';
export { SUPPORTED_SERVICE_KEYS } from './schema.js';
