// ctest driver for the manifests area (label manifests): renders manifests/ with kubectl kustomize
// and checks the renders.
//
//   node manifest_checks.mjs schema|schema_negative|policy|policy_negative
//   node manifest_checks.mjs policy_of FILE [--tls] [--autoscale]
//
// schema           every kustomization under manifests/ renders, as does each route (minikube,
//                  traefik, gateway) with --tls --autoscale's components, and the renders and the
//                  sample Gateway type-check against their schemas (schema.mjs: unknown fields rejected)
// policy           each render follows the deployment policy (policy.mjs) for what it contains, the
//                  sample Gateway its rows of EXACT, and docker-compose.yml gives the service only
//                  its settings (README.md's table)
// schema_negative, policy_negative
//                  the renders broken each way of negative.mjs's tables must fail the check, each
//                  with its row's text
// policy_of        one render of the default route against the policy (tests/deploy/runs.bats:
//                  what the script applied)
//
// Each check runs on cases (a render, broken by a row or not) and expects each case's text, or no
// message for an unbroken render.
//
// Exit 77 (ctest: skipped) when kubectl or the pinned npm packages are missing (a failure under
// FA_TESTS_NO_SKIP=1).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { POLICY_BREAKS, SCHEMA_BREAKS } from "./negative.mjs";
import { checkCompose, checkExact, checkPolicy } from "./policy.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
function needKubectl() {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
  } catch {
    skip("kubectl not found (kustomize is built into kubectl)");
  }
}
function needPackages() {
  const { devDependencies } = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8"));
  for (const p of Object.keys(devDependencies))
    if (!existsSync(join(here, "..", "node_modules", p))) skip("pinned npm packages missing: run 'npm ci --prefix tests'");
}

// Returns the objects of the YAML text's non-empty documents. Throws on YAML errors (duplicate keys
// included) so a broken render fails loudly; aliases only where allowed (compose).
async function parse(text, maxAliasCount = 0) {
  const { parseAllDocuments } = await import("yaml"); // only once needPackages() passed
  return parseAllDocuments(text, { uniqueKeys: true }).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`YAML document ${index}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const obj = doc.toJS({ maxAliasCount });
    return obj === null || obj === undefined ? [] : [obj];
  });
}
const readText = (...path) => readFileSync(join(root, ...path), "utf8");

// The renders the checks read: what each must contain (the options of the policy) and, for an
// overlay with components (`compose`), how build-and-deploy.sh's generated overlay composes it.
const RENDERS = {
  minikube: { route: "nginx" },
  traefik: { route: "traefik" },
  gateway: { route: "gateway" },
  autoscale: { autoscale: true },
  tls: { tls: true },
  combined: { autoscale: true, tls: true, compose: ["minikube", "tls", "autoscale"] },
  traefik_combined: { route: "traefik", autoscale: true, tls: true, compose: ["traefik", "tls", "autoscale"] },
  gateway_combined: { route: "gateway", autoscale: true, tls: true, compose: ["gateway", "gateway-tls", "autoscale"] },
  // components/metrics-scrape: a second NetworkPolicy admits the scraper's namespace on the metrics port.
  metrics_scrape: { metricsScrape: true, compose: ["minikube", "metrics-scrape"] },
};

// Renders base, every overlay and the composed ones (their kustomizations written under out/);
// returns the YAML by name.
function renderAll(out) {
  const kustomize = (dir) => {
    const text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    if (!text.trim()) throw new Error(`${dir}: rendered nothing`);
    return text;
  };
  const texts = { base: kustomize(join(root, "manifests", "base")) };
  for (const overlay of readdirSync(join(root, "manifests", "overlays"))) {
    const name = overlay.replaceAll("-", "_");
    if (!RENDERS[name]) throw new Error(`overlay ${overlay} has no entry in RENDERS of ${fileURLToPath(import.meta.url)}: add one so it is checked`);
    texts[name] = kustomize(join(root, "manifests", "overlays", overlay));
  }
  for (const [name, { compose }] of Object.entries(RENDERS)) {
    if (!compose) continue;
    const [overlay, ...components] = compose;
    const dir = join(out, name);
    mkdirSync(dir);
    const rel = relative(dir, join(root, "manifests"));
    writeFileSync(join(dir, "kustomization.yaml"), [
      "apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization",
      "resources:", `  - ${rel}/overlays/${overlay}`,
      "components:", ...components.map((c) => `  - ${rel}/components/${c}`), "",
    ].join("\n"));
    texts[name] = kustomize(dir);
  }
  return texts;
}

// The checks: cases [{ render, objects, opts }] -> each case's messages.
const CHECKERS = {
  schema: async (cases) => (await import("./schema.mjs")).checkSchema(cases),
  policy: (cases) => cases.map(({ render, objects, opts }) =>
    render === "compose" ? checkCompose(objects[0]) : render === "example_gateway" ? checkExact(objects) : checkPolicy(objects, opts)),
};

// The cases of a table of breaks (negative.mjs): each render unbroken, then broken by each of its rows.
function casesOf(table, renders) {
  return Object.entries(table).flatMap(([render, rows]) => [
    { label: render, render, objects: renders[render], opts: RENDERS[render] },
    ...rows.map(([what, mutate, expected, opts = RENDERS[render]]) => {
      const objects = structuredClone(renders[render]);
      mutate(objects, renders);
      return { label: `${render}: ${what}`, render, objects, opts, expected };
    }),
  ]);
}

// Checks the cases: each broken one must yield a message containing its text, each unbroken one no
// message. True when they all do.
async function verdict(checker, cases) {
  const results = await checker(cases);
  const failed = cases.filter(({ label, objects, expected }, i) => {
    const hit = expected === undefined ? results[i].length === 0 : results[i].find((m) => m.includes(expected));
    const want = expected === undefined ? "no message" : `a message containing ${JSON.stringify(expected)}`;
    if (!hit) console.error(`FAIL ${label}: expected ${want}, got ${JSON.stringify(results[i], null, 1)}`);
    else console.log(`ok   ${label}: ${expected === undefined ? `${objects.length} objects, no message` : hit.split("\n")[0]}`);
    return !hit;
  });
  console.log(`${cases.length - failed.length}/${cases.length} renders as expected`);
  return failed.length === 0;
}

async function main([check, ...args]) {
  if (check === "policy_of") {
    needPackages();
    const opts = { autoscale: args.includes("--autoscale"), tls: args.includes("--tls") };
    const file = args.find((a) => !a.startsWith("--"));
    return (await verdict(CHECKERS.policy, [{ label: file, objects: await parse(readFileSync(file, "utf8")), opts }])) ? 0 : 1;
  }
  if (!["schema", "schema_negative", "policy", "policy_negative"].includes(check)) {
    console.error(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\nimport ")[0]);
    return 2;
  }
  needKubectl();
  needPackages();
  const out = mkdtempSync(join(tmpdir(), "fa-manifests-"));
  try {
    const texts = renderAll(out);
    texts.example_gateway = readText("manifests", "examples", "gateway.yaml");
    const renders = { compose: [(await parse(readText("docker-compose.yml"), 100))[0]] };
    for (const [name, text] of Object.entries(texts)) renders[name] = await parse(text);
    // The positive checks: every render they read, unbroken; the negative ones: negative.mjs's tables.
    const unbroken = (names) => Object.fromEntries(names.map((name) => [name, []]));
    const tables = {
      schema: unbroken(Object.keys(texts)),
      policy: unbroken([...Object.keys(RENDERS), "compose", "example_gateway"]),
      schema_negative: SCHEMA_BREAKS,
      policy_negative: POLICY_BREAKS,
    };
    return (await verdict(CHECKERS[check.replace("_negative", "")], casesOf(tables[check], renders))) ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
