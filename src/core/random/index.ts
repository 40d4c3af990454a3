export { checkSeed, MT19937 } from './mt19937';
export { inversePermutation, numpyPermutation, numpyShuffle, permutationFrom, randomInterval } from './permutation';
export { RandomState, seededNormal, seededRandom } from './randomState';
