/**
 * Jest (its own module system) cannot require() an ES module on Node < 24.9, though Node 20.19+
 * itself can. The few ESM-only packages the gateway loads (content-disposition, under
 * @fastify/static) are turned into CommonJS for jest by TypeScript's transpiler; the running
 * gateway loads them untouched.
 */
'use strict';
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, esModuleInterop: true },
    });
    return { code: out.outputText };
  },
};
