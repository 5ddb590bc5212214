// Policy check of rendered manifests (see policy.mjs for the rules).
//
//   node check-policy.mjs [--autoscale] [--tls] [--metrics-scrape] [--route=nginx|traefik|gateway] rendered.yaml
//
// --autoscale / --tls / --metrics-scrape: the overlay must have an HPA / Ingress
// TLS / the scraper's NetworkPolicy (and without the flag must not). --route: the overlay's public
// route (default nginx), whose controller's namespace alone the NetworkPolicy must admit. Exit 0: policy holds. Exit 1: violations on stderr.
import { describe, loadObjects } from "./lib.mjs";
import { checkPolicy } from "./policy.mjs";

const args = process.argv.slice(2);
const opts = {
  autoscale: args.includes("--autoscale"),
  tls: args.includes("--tls"),
  metricsScrape: args.includes("--metrics-scrape"),
  route: (args.find((a) => a.startsWith("--route=")) ?? "--route=nginx").slice("--route=".length),
};
const files = args.filter((a) => !a.startsWith("--"));
if (files.length === 0) {
  console.error("usage: node check-policy.mjs [--autoscale] [--tls] [--metrics-scrape] [--route=nginx|traefik|gateway] FILE.yaml...");
  process.exit(2);
}
const objects = loadObjects(files).map((x) => x.obj);
const violations = checkPolicy(objects, opts);
if (violations.length > 0) {
  for (const msg of violations) console.error(`POLICY VIOLATION ${msg}`);
  console.error(`${violations.length} policy violation(s) in ${files.join(" ")}`);
  process.exitCode = 1;
} else {
  console.log(`policy OK (${JSON.stringify(opts)}): ${objects.map(describe).join(", ")}`);
}
