// The package ships no types; this is the part of its API Switchyard uses.
declare module 'murmurhash3js-revisited' {
  interface MurmurHash3 {
    x86: {
      hash32(bytes: ArrayLike<number>, seed?: number): number;
      hash128(bytes: ArrayLike<number>, seed?: number): string;
    };
    x64: { hash128(bytes: ArrayLike<number>, seed?: number): string };
    inputValidation: boolean;
  }
  const murmurHash3: MurmurHash3;
  export default murmurHash3;
}
