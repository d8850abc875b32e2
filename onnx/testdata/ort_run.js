// Runs an ONNX model with ONNX Runtime (npm onnxruntime-node) on the input
// of a fixture JSON and prints the first output as JSON: the optional
// cross-check in onnx_test.go. Usage: node ort_run.js MODEL.onnx FIXTURE.json
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, fixture] = process.argv.slice(2);
  const f = JSON.parse(fs.readFileSync(fixture, 'utf8'));
  const session = await ort.InferenceSession.create(model);
  const input = new ort.Tensor('float32', Float32Array.from(f.input), f.input_shape);
  const out = await session.run({ [session.inputNames[0]]: input });
  const y = out[session.outputNames[0]];
  process.stdout.write(JSON.stringify({ shape: y.dims, output: Array.from(y.data) }));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
