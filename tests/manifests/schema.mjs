// Offline schema check of Kubernetes objects that REJECTS unknown fields: checkSchema(cases)
// returns each case's errors (an empty list: all valid). Each object becomes a TypeScript object literal typed with the matching
// interface from `kubernetes-types` (generated from the Kubernetes OpenAPI spec)
// and is type-checked with the TypeScript compiler. Object literals get excess
// property checks at every nesting level, so a typo such as `imagePullPolicyy`
// or `httpGet.paht` fails, as do wrong types and missing required fields.
// Gateway API objects (gateway.networking.k8s.io) are typed the same way with the interfaces of
// `@kubernetes-models/gateway-api` (generated from the Gateway API CRDs), and also validated at run
// time against that package's JSON schema (enums, patterns, lengths and required fields the types
// cannot express, e.g. a hostname's pattern or a redirect's status code).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const typesRoot = join(here, "..", "node_modules", "kubernetes-types");
const GATEWAY_PKG = "@kubernetes-models/gateway-api";
const gatewayRoot = join(here, "..", "node_modules", GATEWAY_PKG);
const GATEWAY_GROUP = "gateway.networking.k8s.io";

// The interface an object is typed with: { pkg, module, type }, with `missing` set when the package
// generated for its API group has no such kind or version. Gateway API objects come from
// @kubernetes-models/gateway-api (gateway.networking.k8s.io/v1 Gateway -> module
// gateway.networking.k8s.io/v1/Gateway, interface IGateway); the rest from kubernetes-types, which
// names modules by the group's first label ("v1" -> core/v1, "networking.k8s.io/v1" -> networking/v1).
function schemaOf({ apiVersion, kind }) {
  const [group, version] = String(apiVersion).split("/");
  if (group === GATEWAY_GROUP) {
    const module = `${group}/${version}/${kind}`;
    const missing = !version || !existsSync(join(gatewayRoot, `${module}.d.ts`));
    return { pkg: GATEWAY_PKG, module, type: `I${kind}`, missing };
  }
  const module = version ? `${group.split(".")[0]}/${version}` : `core/${group}`;
  const dts = join(typesRoot, `${module}.d.ts`);
  const missing = !existsSync(dts) || !new RegExp(`export interface ${kind} \\{`).test(readFileSync(dts, "utf8"));
  return { pkg: "kubernetes-types", module, type: kind, missing };
}

// Run-time JSON schema validation of a Gateway API object with the package's model class: the
// enums, patterns and lengths its types cannot express.
async function validateGateway(obj, module) {
  const mod = await import(join(gatewayRoot, `${module}.js`));
  try {
    new mod[obj.kind](obj).validate();
    return undefined;
  } catch (e) {
    return e.message;
  }
}

// cases: [{ objects }], the renders manifest_checks.mjs checks; returns each case's errors, all
// from one run of the type checker.
export async function checkSchema(cases) {
  const errors = cases.map(() => []);
  const work = mkdtempSync(join(tmpdir(), "fa-schema-"));
  try {
    const sources = new Map(); // ts file -> [case number, where]
    const runtime = []; // [case number, where, object, module]: Gateway API objects' JSON schema checks
    cases.forEach(({ objects }, n) => objects.forEach((obj, index) => {
      const where = `document ${index} (${obj?.kind ?? "<no kind>"} ${obj?.metadata?.name ?? "<no name>"})`;
      // A document that is not an object (a string, a list) has neither, so it fails here too.
      if (!obj?.apiVersion || !obj?.kind) return errors[n].push(`${where}: apiVersion and kind are required`);
      if (!obj.metadata?.name) errors[n].push(`${where}: metadata.name is required`);
      const schema = schemaOf(obj);
      if (schema.missing)
        return errors[n].push(`${where}: no schema for ${obj.apiVersion} ${obj.kind} in ${schema.pkg} (unknown kind or API version)`);
      // The object as a literal typed with its schema's interface, for the type checker.
      const tsFile = join(work, `${n}_${index}.ts`);
      writeFileSync(
        tsFile,
        `import type { ${schema.type} as Schema } from "${schema.pkg}/${schema.module}";\n` +
          `export const manifest: Schema = ${JSON.stringify(obj, null, 2)};\n`,
      );
      sources.set(tsFile, [n, where]);
      if (schema.pkg === GATEWAY_PKG) runtime.push([n, where, obj, schema.module]);
    }));

    const options = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      baseUrl: work,
      paths: {
        "kubernetes-types/*": [join(typesRoot, "*")],
        [`${GATEWAY_PKG}/*`]: [join(gatewayRoot, "*")],
      },
      types: [],
      skipLibCheck: false,
    };
    const program = ts.createProgram([...sources.keys()], options);
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
      const [n, where] = sources.get(d.file?.fileName) ?? [];
      if (n === undefined) {
        for (const e of errors) e.push(`type checker: ${msg}`); // not an object's: every case fails
        continue;
      }
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      errors[n].push(`${where}: ${msg}\n    at: ${d.file.text.split("\n")[line].trim()}`);
    }
    for (const [n, where, obj, module] of runtime) {
      const msg = await validateGateway(obj, module);
      if (msg) errors[n].push(`${where}: ${msg}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return errors;
}
