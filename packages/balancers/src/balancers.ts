export {
  type Balancer,
  type BuildContext,
  emptyPicker,
  type PickContext,
  type Picker,
} from './lib/balancer.ts';
export { roundRobin } from './lib/round-robin.ts';
