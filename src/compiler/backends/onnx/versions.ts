/**
 * Which ONNX IR version goes with which opset: the IR version of the ONNX release that
 * introduced the opset (onnx/docs/Versioning.md), the oldest that can carry it, so that older
 * runtimes still load the file. python3-onnx 1.12's checker stops at opset 17.
 */
const IR_FOR_OPSET: ReadonlyMap<number, number> = new Map([
  [13, 7], // ONNX 1.8
  [14, 7], // ONNX 1.9
  [15, 8], // ONNX 1.10
  [16, 8], // ONNX 1.11
  [17, 8], // ONNX 1.12
]);

export const DEFAULT_OPSET = 13;
export const SUPPORTED_OPSETS: readonly number[] = [...IR_FOR_OPSET.keys()];

/** The IR version for an opset; throws for opsets unetc does not export to. */
export function irVersionFor(opset: number): number {
  const ir = IR_FOR_OPSET.get(opset);
  if (ir === undefined) {
    throw new Error(
      `unsupported ONNX opset ${String(opset)}: expected one of ${SUPPORTED_OPSETS.join(', ')} (Softmax over channels needs >= 13; checkers and runtimes tested up to 17)`,
    );
  }
  return ir;
}
