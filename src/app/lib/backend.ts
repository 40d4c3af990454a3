// What the header and the start-up warning say about the backend in use.

/** Renderer names of GPUs emulated on the processor (Chromium's SwiftShader, Mesa's llvmpipe, Windows' basic renderer). */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software rasterizer|microsoft basic render/i;

/** Whether the backend runs WebGL on a software renderer: far slower than WASM for this work (83 s for 3 images in one run). */
export function softwareWebGl(backend: { name: string; adapter: string } | null): boolean {
  return !!backend && backend.name === 'webgl' && SOFTWARE.test(backend.adapter);
}

export function softwareWebGlWarning(adapter: string): string {
  return `WebGL runs on a software renderer here (${adapter}): it emulates the graphics card on the processor and is many times slower than WASM for this work. Choose WASM in the header's Backend menu.`;
}
