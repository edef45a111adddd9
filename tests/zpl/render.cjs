// Renders the ZPL on stdin with zebrash (WebAssembly): node render.cjs [width_mm height_mm dots_per_mm]
// (defaults: 4x6 in at 8 dots/mm, 203 dpi). Writes a JSON array on stdout, one base64 PNG
// for each label format (^XA...^XZ) found, so a test sees an injected second format too.
// Used by tests/unit/test_labels_render.py.
const { ready } = require("zpl-renderer-js");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const zpl = Buffer.concat(chunks).toString("utf8");
  const [width, height, dpmm] = process.argv.slice(2).map(Number);
  const { api } = await ready;
  const pngs = await api.zplToBase64MultipleAsync(zpl, width || 101.6, height || 152.4, dpmm || 8);
  // Exit once written: the Go runtime inside the WebAssembly may keep node alive.
  process.stdout.write(JSON.stringify(pngs), () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
