/**
 * Device profiles for --inference-speed-estimate's roofline: dense peak throughput per compute
 * precision and memory bandwidth, from the vendors' documents (sparsity figures excluded).
 */

/** Which peak applies: the precision most parameter bytes are stored in. */
export type ComputeClass = 'fp32' | 'fp16' | 'int8';

export interface DeviceProfile {
  name: string;
  /** Dense peak, in TFLOPS (TOPS for int8), per compute class. */
  peakTflops: Record<ComputeClass, number>;
  bandwidthGbs: number;
  source: string;
}

export const DEVICE_PROFILES: Record<string, DeviceProfile> = {
  a100: {
    name: 'NVIDIA A100 SXM4 80GB',
    peakTflops: { fp32: 19.5, fp16: 312, int8: 624 },
    bandwidthGbs: 2039,
    source: 'NVIDIA A100 Tensor Core GPU datasheet (FP32 19.5 TFLOPS; FP16/BF16 Tensor Core 312 TFLOPS and INT8 624 TOPS dense; HBM2e 2,039 GB/s)',
  },
  h100: {
    name: 'NVIDIA H100 SXM5',
    peakTflops: { fp32: 67, fp16: 989, int8: 1979 },
    bandwidthGbs: 3350,
    source: 'NVIDIA H100 Tensor Core GPU datasheet (FP32 67 TFLOPS; FP16/BF16 Tensor Core 1,979 and INT8 3,958 with sparsity, half that dense; HBM3 3.35 TB/s)',
  },
  rtx4090: {
    name: 'NVIDIA GeForce RTX 4090',
    peakTflops: { fp32: 82.6, fp16: 165.2, int8: 660.6 },
    bandwidthGbs: 1008,
    source:
      'NVIDIA Ada GPU Architecture whitepaper, Appendix A (FP32 82.6 TFLOPS; FP16 Tensor with FP32 accumulate 165.2 TFLOPS and INT8 660.6 TOPS dense; GDDR6X 1,008 GB/s)',
  },
  cpu: {
    name: 'generic 8-core x86-64 desktop CPU (AVX2 + FMA, 3.0 GHz, dual-channel DDR5-4800)',
    peakTflops: { fp32: 0.768, fp16: 0.768, int8: 0.768 },
    bandwidthGbs: 76.8,
    source:
      'derived: 8 cores × 3.0 GHz × 32 FP32 FLOP/cycle (two 256-bit FMA units, Intel 64 and IA-32 Architectures Optimization Reference Manual) = 0.768 TFLOPS, f16/int8 assumed widened to f32; 2 channels × 8 bytes × 4800 MT/s (JEDEC JESD79-5 DDR5) = 76.8 GB/s',
  },
};

export const DEVICE_NAMES = Object.keys(DEVICE_PROFILES);
export const DEFAULT_DEVICE = 'a100';
