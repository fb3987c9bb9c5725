/** The model view: roles, tie groups and stored hyperparameters of a described model file. */
export { buildModelView, buildModelViewWithConfig, holdsSafetensorsMetadata, modelViewOf } from './view.js';
export type { ModelEntry, ModelView, ModelViewOptions, RoleTotals } from './view.js';
export { ROLES, isBuffer, isOptimizerState, packedParamTarget, roleContext, roleOf } from './roles.js';
export type { Role, RoleContext, RoleOf } from './roles.js';
export { SAFETENSORS_METADATA_PREFIX, findTieGroups, metadataAliases } from './ties.js';
export type { TieGroup } from './ties.js';
export { MAX_CONFIG_BYTES, readHuggingFaceConfig, readHyperparameters } from './hyperparameters.js';
export type { HuggingFaceConfig, Hyperparameters, OptimizerHyperparameters, ParamGroup, ParameterStep } from './hyperparameters.js';
