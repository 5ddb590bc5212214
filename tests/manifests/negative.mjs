// The negative tests (manifest_checks.mjs schema_negative, policy_negative): each row breaks a render
// that passes one way, and the check must then fail with a message containing the row's text (and
// the render unbroken, with none). A row:
//   [what is broken, break(objects of the render, all renders), the text, and optionally the policy's
//    options to check with instead of the render's: a render checked as what it is not]
// The renders are manifest_checks.mjs's (RENDERS), the sample Gateway (example_gateway) and
// docker-compose.yml (compose, one document). Every rule has a row: each fail() of policy.mjs and
// route_policy.mjs and each error of schema.mjs, disabled alone, fails at least one row; each row of
// policy.mjs's EXACT table gets its row at the end of this file.
import { EXACT, keysOf, objectsOf } from "./policy.mjs";

const find = (objs, kind) => objs.find((o) => o.kind === kind);
const dep = (objs) => find(objs, "Deployment");
const podSpec = (objs) => dep(objs).spec.template.spec;
const ctr = (objs) => podSpec(objs).containers[0];
// Sets a variable of the container, added where the Deployment leaves the setting at its default.
function setEnv(objs, name, value) {
  const e = ctr(objs).env.find((x) => x.name === name);
  if (e) e.value = value;
  else ctr(objs).env.push({ name, value });
}
const hpa = (objs) => find(objs, "HorizontalPodAutoscaler");
const scrapePolicy = (objs) => objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name !== "favorite-athlete");
const route = (o, name = "favorite-athlete") => o.find((x) => x.kind === "HTTPRoute" && x.metadata.name === name);
const replicaEnv = ([compose]) => compose.services["favorite-athlete-1"].environment;
const unbroken = () => {};

// The schema check (schema.mjs): unknown fields, wrong types, missing required fields, unknown kinds,
// and the Gateway API's JSON schema.
export const SCHEMA_BREAKS = {
  minikube: [
    ["a typo'd container field", (o) => (ctr(o).imagePullPolicyy = "IfNotPresent"), `'"imagePullPolicyy"' does not exist in type 'Container'`],
    ["a typo'd field deep in a probe", (o) => (ctr(o).livenessProbe.httpGet = { paht: "/healthz", port: "http" }), `'"paht"' does not exist in type 'HTTPGetAction'`],
    ["replicas a string", (o) => (dep(o).spec.replicas = "3"), `Type 'string' is not assignable to type 'number'.\n    at: "replicas": "3"`],
    ["a Service port without its port", (o) => delete find(o, "Service").spec.ports[0].port, "Property 'port' is missing"],
    ["an unknown kind", (o) => (find(o, "Ingress").kind = "Ingresss"), "no schema for networking.k8s.io/v1 Ingresss"],
    ["an object without a name", (o) => delete find(o, "Service").metadata.name, "metadata.name is required"],
  ],
  gateway_combined: [
    ["an HTTPRoute rule's backendRef", (o) => (route(o).spec.rules[0].backendRef = route(o).spec.rules[0].backendRefs), `'"backendRef"' does not exist in type 'IHTTPRouteRule'`],
    ["a hostname with a port", (o) => (route(o).spec.hostnames = ["favorite-athlete.127.0.0.1.nip.io:80"]), "data/spec/hostnames/0 must match pattern"],
  ],
  // The API versions, which no policy rule repeats: the types have no PDB but policy/v1's, no v2 field in v1's HPA.
  autoscale: [
    ["PDB v1beta1", (o) => (find(o, "PodDisruptionBudget").apiVersion = "policy/v1beta1"), "no schema for policy/v1beta1 PodDisruptionBudget"],
    ["HPA autoscaling/v1", (o) => (hpa(o).apiVersion = "autoscaling/v1"), "does not exist in type 'HorizontalPodAutoscalerSpec'"],
  ],
  example_gateway: [
    ["a document that is not an object", (o) => (o[0] = "Gateway"), "apiVersion and kind are required"],
    ["a listener's protocol a number", (o) => (find(o, "Gateway").spec.listeners[0].protocol = 80), `Type 'number' is not assignable to type 'string'.\n    at: "protocol": 80`],
  ],
};

// The deployment policy (policy.mjs, route_policy.mjs).
export const POLICY_BREAKS = {
  // The default route's render (minikube, ingress-nginx).
  minikube: [
    ["2 replicas", (o) => (dep(o).spec.replicas = 2), "replicas is 2"],
    ["pods without the selector's labels", (o) => (dep(o).spec.template.metadata.labels["app.kubernetes.io/instance"] = "x"), "pod template labels do not include"],
    ["image :latest", (o) => (ctr(o).image = "favorite-athlete:latest"), "latest tag"],
    ["image without tag", (o) => (ctr(o).image = "favorite-athlete"), "has no tag"],
    ["PORT env differs", (o) => setEnv(o, "PORT", "9090"), "env PORT differs"],
    ["METRICS_PORT env differs", (o) => setEnv(o, "METRICS_PORT", "9090"), "env METRICS_PORT differs"],
    ["a drain the grace period does not cover", (o) => setEnv(o, "DRAIN_SECONDS", "25"), "terminationGracePeriodSeconds (30) must exceed"],
    ["slow readiness", (o) => (ctr(o).readinessProbe.periodSeconds = 10), "marked unready after"],
    ["a second container", (o) => podSpec(o).containers.push({ ...ctr(o), name: "sidecar" }), "expected 1 container, found 2"],
    ["Ingress class", (o) => (find(o, "Ingress").spec.ingressClassName = "traefik"), "ingressClassName"],
    ["two Ingress rules", (o) => find(o, "Ingress").spec.rules.push(structuredClone(find(o, "Ingress").spec.rules[0])), "Ingress: expected 1 rule, found 2"],
    ["Ingress host", (o) => (find(o, "Ingress").spec.rules[0].host = "favorite-athlete.local"), "nip.io"],
    ["NetworkPolicy admits Traefik's namespace", (o) => (find(o, "NetworkPolicy").spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"] = "kube-system"), "must admit only the ingress-nginx namespace"],
    ["an HTTPRoute beside the Ingress", (o, r) => o.push(structuredClone(find(r.gateway_combined, "HTTPRoute"))), "nginx: unexpected HTTPRoute"],
    ["a ServiceAccount outside the namespace", (o) => o.push({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "default", labels: find(o, "Service").metadata.labels } }), "ServiceAccount x: namespace is \"default\""],
    ["Namespace renamed", (o) => (find(o, "Namespace").metadata.name = "other"), "Namespace is other"],
    ["no part-of label", (o) => delete find(o, "Service").metadata.labels["app.kubernetes.io/part-of"], "missing label app.kubernetes.io/part-of"],
    ["missing label", (o) => delete find(o, "Ingress").metadata.labels["app.kubernetes.io/name"], "missing label"],
    ["no Ingress", (o) => o.splice(o.indexOf(find(o, "Ingress")), 1), "expected exactly 1 Ingress, found 0"],
    ["no Namespace", (o) => o.splice(o.indexOf(find(o, "Namespace")), 1), "expected exactly 1 Namespace"],
    ["unexpected HPA", (o) => o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "x", namespace: "favorite-athlete", labels: { "app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "x" } }, spec: {} }), "unexpected HorizontalPodAutoscaler"],
    ["unexpected tls", (o) => (find(o, "Ingress").spec.tls = [{ hosts: ["x"], secretName: "s" }]), "unexpected tls"],
    ["a misspelt setting", (o) => setEnv(o, "ACCES_LOG", "on"), "env ACCES_LOG is not a setting"],
    ["on/off setting of another form", (o) => setEnv(o, "ACCESS_LOG", "yes"), 'env ACCESS_LOG="yes" is not of the form'],
    ["an address setting of another form", (o) => setEnv(o, "BIND_ADDRESS", "0.0.0.0.0"), 'env BIND_ADDRESS="0.0.0.0.0" is not of the form'],
    ["THREADS neither auto nor a count", (o) => setEnv(o, "THREADS", "many"), 'env THREADS="many" is not of the form'],
    ["THREADS of no thread", (o) => setEnv(o, "THREADS", "0"), 'env THREADS="0" is not of the form'],
    ["a seconds setting of another form", (o) => setEnv(o, "DRAIN_SECONDS", "5s"), 'env DRAIN_SECONDS="5s" is not of the form'],
    ["--autoscale without HPA", unbroken, "expected exactly 1 HorizontalPodAutoscaler", { autoscale: true }],
    ["--tls without tls", unbroken, "tls: Ingress needs exactly 1 tls entry", { tls: true }],
    ["an unknown route", unbroken, "unknown route haproxy", { route: "haproxy" }],
  ],
  // components/tls on the Ingress.
  tls: [
    ["tls from another Secret", (o) => (find(o, "Ingress").spec.tls[0].secretName = "other"), "secretName must be favorite-athlete-tls"],
    ["tls for another host", (o) => (find(o, "Ingress").spec.tls[0].hosts = ["athlete.local"]), "do not include the rule host"],
  ],
  // components/metrics-scrape: a second NetworkPolicy (what it admits: EXACT).
  metrics_scrape: [
    ["scrape policy missing", (o) => o.splice(o.indexOf(scrapePolicy(o)), 1), "expected exactly 2 NetworkPolicy"],
  ],
  // components/autoscale: the HPA owns the replica count, from 3 up, by the cpu request.
  autoscale: [
    ["replicas beside the HPA", (o) => (dep(o).spec.replicas = 3), "must not set spec.replicas"],
  ],
  // The Gateway route's own renders: the NetworkPolicy follows the Gateway, the routes have their shape.
  gateway: [
    ["a listener chosen without tls", (o) => (route(o).spec.parentRefs[0].sectionName = "https"), "sectionName https without tls"],
    ["a ReferenceGrant without tls", (o, r) => o.push(structuredClone(find(r.gateway_combined, "ReferenceGrant"))), "unexpected ReferenceGrant"],
  ],
  gateway_combined: [
    ["an Ingress beside the HTTPRoute", (o, r) => o.push(structuredClone(find(r.minikube, "Ingress"))), "gateway: unexpected Ingress"],
    ["no HTTPRoute", (o) => o.splice(o.indexOf(route(o)), 1), "expected the HTTPRoute favorite-athlete"],
    ["NetworkPolicy not the Gateway's namespace", (o) => (route(o).spec.parentRefs[0].namespace = "nginx-gateway"), "must admit only the nginx-gateway namespace"],
    ["parentRef without namespace", (o) => delete route(o).spec.parentRefs[0].namespace, "the Gateway's name and namespace"],
    ["two Gateways", (o) => route(o).spec.parentRefs.push({ ...route(o).spec.parentRefs[0], name: "other" }), "expected 1 parentRef"],
    ["two rules", (o) => route(o).spec.rules.push(structuredClone(route(o).spec.rules[0])), "HTTPRoute favorite-athlete: expected 1 rule, found 2"],
    ["redirect for another host", (o) => (route(o, "favorite-athlete-redirect").spec.hostnames = ["favorite-athlete.10.0.0.1.nip.io"]), "must have the route's host"],
    ["host not nip.io", (o) => (route(o).spec.hostnames = ["athlete.local"]), "hostnames must be"],
    ["tls route on every listener", (o) => delete route(o).spec.parentRefs[0].sectionName, "must attach to the listener https"],
    ["redirect on the https listener", (o) => (route(o, "favorite-athlete-redirect").spec.parentRefs[0].sectionName = "https"), "listener http of the same Gateway"],
    ["no redirect route", (o) => o.splice(o.indexOf(route(o, "favorite-athlete-redirect")), 1), "expected 2 HTTPRoute(s)"],
    ["grant to another namespace", (o) => (find(o, "ReferenceGrant").spec.from[0].namespace = "default"), "only Gateways of gateway"],
    ["no grant", (o) => o.splice(o.indexOf(find(o, "ReferenceGrant")), 1), "expected 1 ReferenceGrant"],
    ["a --tls render checked without --tls", unbroken, "gateway: expected 1 HTTPRoute(s), found 2", { route: "gateway", autoscale: true }],
  ],
  // The settings compose gives the service's replicas.
  compose: [
    ["no replica built here", ([compose]) => Object.values(compose.services).forEach((s) => delete s.build), "no service is built from this repository"],
    ["a port out of range", (o) => (replicaEnv(o).METRICS_PORT = "99999"), 'METRICS_PORT="99999" is not of the form'],
    ["an athlete too long", (o) => (replicaEnv(o).FAVORITE_ATHLETE = "é".repeat(513)), `FAVORITE_ATHLETE="${"é".repeat(513)}" is not of the form`],
    ["an empty athlete", (o) => (replicaEnv(o).FAVORITE_ATHLETE = ""), 'FAVORITE_ATHLETE="" is not of the form'],
  ],
};

// Each row of EXACT, its value changed, in a render that has its object: the check must name the path
// and the value found.
function changed(value) {
  if (value === undefined) return "set";
  if (typeof value === "boolean") return !value;
  if (typeof value === "number") return value + 1;
  if (typeof value === "string") return `${value}-changed`;
  return Array.isArray(value) ? [] : {};
}
const RENDER_OF = { HorizontalPodAutoscaler: "autoscale", HTTPRoute: "gateway_combined", Gateway: "example_gateway", "NetworkPolicy/favorite-athlete-metrics-scrape": "metrics_scrape" };
for (const [object, path, value] of EXACT) {
  const render = RENDER_OF[object] ?? RENDER_OF[object.split("/")[0]] ?? "minikube";
  const keys = keysOf(path);
  const change = (o) => {
    const parent = keys.slice(0, -1).reduce((x, k) => (x[k] ??= {}), objectsOf(o, object)[0]);
    parent[keys.at(-1)] = changed(value);
  };
  (POLICY_BREAKS[render] ??= []).push([`${object} ${path} changed`, change, `: ${path} is ${JSON.stringify(changed(value))}, must be`]);
}
