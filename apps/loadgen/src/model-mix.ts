// The load client draws its models with the workload module of libs/exec: one `--mix` grammar
// (model=weight[,model=weight...], weights normalised) with the simulator.
export { MODEL_MIX_FORM, modelPicker, parseModelMix, type ModelMix, type ModelShare } from '@sched/exec';
