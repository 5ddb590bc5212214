// The deployment policy of favorite-athlete, as code: what the rendered manifests must say. The
// values manifests/README.md and the manifests' comments give are one table (EXACT); the rules below
// it relate objects to each other and to the service's settings. checkPolicy() returns a list of
// violations (strings); an empty list means the manifests follow the policy. checkCompose() checks
// the settings docker-compose.yml gives the service the same way.
//
// The numbers come from the service's interface (README.md, "HTTP contract" and "Configuration";
// Dockerfile.alpine for the UID): container port 8080 named "http", /healthz liveness, /readyz
// readiness, UID 65532; a setting the container does not set has the default of README's table.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { checkRoute } from "./route_policy.mjs";

const NAMESPACE = "favorite-athlete";
const PORT_NAME = "http";
// GET /metrics is served only here (METRICS_PORT), for Prometheus: never by the Service.
const METRICS_PORT_NAME = "metrics";
const UID = 65532;
const REPLICAS = 3;

// What manifests/README.md and the manifests' comments give as exact values: [object, path, value].
// object: a kind, or kind/name; each such object of a render has the value at path (how many such
// objects a render must have is checkPolicy's). path: dot-separated, ["k"] for a key with dots;
// undefined: absent. negative.mjs breaks each row.
const POD = "spec.template.spec";
const CTR = `${POD}.containers.0`;
// Every selector of the pods (immutable in a Deployment): the pod template must carry these labels.
const SELECTOR = { "app.kubernetes.io/name": "favorite-athlete", "app.kubernetes.io/instance": "favorite-athlete" };
export const EXACT = [
  ["Namespace", 'metadata.labels["pod-security.kubernetes.io/enforce"]', "restricted"],
  // Capacity never drops in a rollout; a pod stays ready 5 s before the next one is replaced.
  ["Deployment", "spec.strategy", { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }],
  ["Deployment", "spec.selector", { matchLabels: SELECTOR }],
  ["Deployment", "spec.minReadySeconds", 5],
  ["Deployment", "spec.progressDeadlineSeconds", 120],
  ["Deployment", 'spec.template.metadata.annotations["prometheus.io/scrape"]', "true"],
  ["Deployment", 'spec.template.metadata.annotations["prometheus.io/path"]', "/metrics"],
  // Prometheus is told the metrics port (METRICS_PORT, the ports row below), never the public one.
  ["Deployment", 'spec.template.metadata.annotations["prometheus.io/port"]', "9797"],
  ["Deployment", `${POD}.automountServiceAccountToken`, false],
  // 30 s > DRAIN_SECONDS (5) + SHUTDOWN_TIMEOUT_SECONDS (10), with a wide margin (checkPolicy: the sum).
  ["Deployment", `${POD}.terminationGracePeriodSeconds`, 30],
  ["Deployment", `${POD}.enableServiceLinks`, false],
  ...["hostNetwork", "hostPID", "hostIPC"].map((k) => ["Deployment", `${POD}.${k}`, undefined]),
  // The user and the seccomp profile are the pod's, never the container's.
  ["Deployment", `${POD}.securityContext`, { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, seccompProfile: { type: "RuntimeDefault" } }],
  // Best effort (a one-node minikube schedules all three), each revision spread on its own.
  ["Deployment", `${POD}.topologySpreadConstraints.0.topologyKey`, "kubernetes.io/hostname"],
  ["Deployment", `${POD}.topologySpreadConstraints.0.whenUnsatisfiable`, "ScheduleAnyway"],
  ["Deployment", `${POD}.topologySpreadConstraints.0.matchLabelKeys`, ["pod-template-hash"]],
  ["Deployment", `${POD}.topologySpreadConstraints.0.labelSelector`, { matchLabels: SELECTOR }],
  ["Deployment", `${CTR}.imagePullPolicy`, "IfNotPresent"],
  // The service's port and GET /metrics' own (METRICS_PORT), by name (checkPolicy: the settings agree).
  ["Deployment", `${CTR}.ports`, [{ name: "http", containerPort: 8080, protocol: "TCP" }, { name: "metrics", containerPort: 9797, protocol: "TCP" }]],
  // Startup: up to 30 s; liveness: a restart after 3 misses 10 s apart; both on /healthz by name.
  ["Deployment", `${CTR}.startupProbe`, { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 30 }],
  ["Deployment", `${CTR}.livenessProbe`, { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 }],
  ["Deployment", `${CTR}.readinessProbe.httpGet`, { path: "/readyz", port: "http" }],
  // Sized from measurement; no CPU limit, on purpose.
  ["Deployment", `${CTR}.resources`, { requests: { cpu: "50m", memory: "16Mi" }, limits: { memory: "64Mi" } }],
  ["Deployment", `${CTR}.securityContext`, { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } }],
  // Only http, by the container port's name: the metrics port is never the Service's.
  ["Service", "spec.type", "ClusterIP"],
  ["Service", "spec.selector", SELECTOR],
  ["Service", "spec.ports", [{ name: "http", protocol: "TCP", port: 80, targetPort: "http" }]],
  // One pod at a time however many replicas; a pod that is not Ready may always be evicted.
  ["PodDisruptionBudget", "spec.selector", { matchLabels: SELECTOR }],
  ["PodDisruptionBudget", "spec.maxUnavailable", 1],
  ["PodDisruptionBudget", "spec.minAvailable", undefined],
  ["PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy", "AlwaysAllow"],
  // The base NetworkPolicy admits the route's controller on http (checkPolicy: its namespace depends on
  // the route) and allows no egress at all: the service calls nothing. components/metrics-scrape's
  // admits the scraper's namespace on the metrics port only.
  ["NetworkPolicy", "spec.podSelector", { matchLabels: SELECTOR }],
  ["NetworkPolicy/favorite-athlete", "spec.policyTypes", ["Ingress", "Egress"]],
  ["NetworkPolicy/favorite-athlete", "spec.egress", undefined],
  ["NetworkPolicy/favorite-athlete-metrics-scrape", "spec.policyTypes", ["Ingress"]],
  ["NetworkPolicy/favorite-athlete-metrics-scrape", "spec.ingress", [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }], ports: [{ protocol: "TCP", port: "metrics" }] }]],
  // 3 to 10 replicas at 70% of the CPU request; scale-down after 5 minutes, one pod per minute.
  ["HorizontalPodAutoscaler", "spec.scaleTargetRef", { apiVersion: "apps/v1", kind: "Deployment", name: "favorite-athlete" }],
  ["HorizontalPodAutoscaler", "spec.minReplicas", REPLICAS],
  ["HorizontalPodAutoscaler", "spec.maxReplicas", 10],
  ["HorizontalPodAutoscaler", "spec.metrics", [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]],
  ["HorizontalPodAutoscaler", "spec.behavior", { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } }],
  // The route: / and everything under it, to the Service's port http; the Gateway's own parts
  // (its name, namespace and listener) and the host are the script's, checked in route_policy.mjs.
  ["Ingress", "spec.rules.0.http.paths", [{ path: "/", pathType: "Prefix", backend: { service: { name: "favorite-athlete", port: { name: "http" } } } }]],
  ["HTTPRoute", "spec.parentRefs.0.group", "gateway.networking.k8s.io"],
  ["HTTPRoute", "spec.parentRefs.0.kind", "Gateway"],
  ["HTTPRoute", "spec.rules.0.matches", [{ path: { type: "PathPrefix", value: "/" } }]],
  ["HTTPRoute/favorite-athlete", "spec.rules.0.backendRefs", [{ name: "favorite-athlete", port: 80 }]],
  // components/gateway-tls: plain HTTP gets a 301 to https, and never reaches the pods.
  ["HTTPRoute/favorite-athlete-redirect", "spec.rules.0.backendRefs", undefined],
  ["HTTPRoute/favorite-athlete-redirect", "spec.rules.0.filters", [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }]],
  // manifests/examples/gateway.yaml (checked alone): the listeners components/gateway-tls names, the
  // https one serving the Secret its ReferenceGrant allows.
  ["Gateway", "spec.listeners.0.name", "http"],
  ["Gateway", "spec.listeners.1.name", "https"],
  ["Gateway", "spec.listeners.1.protocol", "HTTPS"],
  ["Gateway", "spec.listeners.1.tls.certificateRefs", [{ kind: "Secret", group: "", name: "favorite-athlete-tls", namespace: NAMESPACE }]],
];
// A path's keys: a.b["c.d/e"].0 -> [a, b, c.d/e, 0].
export const keysOf = (path) => [...path.matchAll(/\["([^"]+)"\]|[^.[\]]+/g)].map((m) => m[1] ?? m[0]);
// The objects of a render an EXACT row checks.
export const objectsOf = (objects, object) => {
  const [kind, name] = object.split("/");
  return objects.filter((o) => o?.kind === kind && (!name || o.metadata?.name === name));
};

// A setting's value in the container, as a number (NaN for `off`): its variable, else its default.
function envValue(container, name) {
  const e = (container.env ?? []).find((x) => x.name === name);
  return Number(e?.value ?? SETTINGS.get(name).dflt);
}

// The service's settings, name -> { dflt, meaning }: README.md's Configuration table, which
// `ctest -L unit` checks against the settings table of service/config.hpp.
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const SETTINGS_TABLE = (README.split("\n## Configuration\n")[1] ?? "").split("\n## ")[0];
const SETTING_ROW = /^\| `([A-Z_]+)` \| `[^`]*` \| `([^`]*)` \| (.*) \|$/gm; // | `VARIABLE` | `--flag` | `default` | meaning |
const SETTINGS = new Map([...SETTINGS_TABLE.matchAll(SETTING_ROW)].map(([, name, dflt, meaning]) => [name, { dflt, meaning }]));
if (SETTINGS.size === 0) throw new Error("README.md: no settings found in its Configuration table");
// The forms below must admit every default the table gives, or they would refuse valid values.
for (const [name, s] of SETTINGS) if (!fits(s, s.dflt)) throw new Error(`README.md: ${name}'s default ${s.dflt} is not of the form fits() reads in its meaning`);

// Whether a value has the form the table's meaning gives: one of `a`/`b`; a TCP port (or a value
// the meaning names, such as `off`); an IP address; a named default or a count (THREADS: `auto`);
// an integer where the default is one (seconds); else a non-empty string, of at most the bytes the
// meaning says.
function fits({ dflt, meaning }, v) {
  const named = [...meaning.matchAll(/`([a-z0-9]+)`/g)].map((m) => m[1]);
  if (/^`\w+`\/`\w+`/.test(meaning)) return named.includes(v);
  if (/^TCP port/.test(meaning)) return named.includes(v) || (/^\d{1,5}$/.test(v) && Number(v) <= 65535);
  if (/IPv4 or IPv6/.test(meaning)) return isIP(v) !== 0;
  if (named.includes(dflt)) return named.includes(v) || /^[1-9]\d*$/.test(v); // a count: 1 or more
  if (/^\d+$/.test(dflt)) return /^\d+$/.test(v);
  const most = /up to (\d+) bytes/.exec(meaning);
  return v !== "" && (!most || Buffer.byteLength(v) <= Number(most[1]));
}

// What is wrong with setting the service's environment variable name to value (undefined: none);
// a value from elsewhere (valueFrom, the host's environment) is not checked.
function settingProblem(name, value) {
  const s = SETTINGS.get(name);
  if (!s) return `${name} is not a setting of README.md's Configuration table`;
  if (value !== undefined && value !== null && !fits(s, String(value)))
    return `${name}=${JSON.stringify(String(value))} is not of the form README.md's Configuration table gives (${s.meaning})`;
}

// docker-compose.yml (parsed): each service built from this repository (the service's replicas)
// gets only settings of the service, each of its form.
export function checkCompose(compose) {
  const v = [];
  const replicas = Object.entries(compose?.services ?? {}).filter(([, s]) => s?.build);
  if (replicas.length === 0) v.push("compose: no service is built from this repository");
  for (const [name, s] of replicas)
    for (const [k, value] of Object.entries(s.environment ?? {})) {
      const problem = settingProblem(k, value);
      if (problem) v.push(`compose: ${name}: environment ${problem}`);
    }
  return v;
}

// The rows of EXACT that objects break.
export function checkExact(objects) {
  return EXACT.flatMap(([object, path, value]) => objectsOf(objects, object).flatMap((o) => {
    const actual = keysOf(path).reduce((x, k) => x?.[k], o);
    return isDeepStrictEqual(actual, value) ? [] : [`${o.kind} ${o.metadata?.name}: ${path} is ${JSON.stringify(actual)}, must be ${JSON.stringify(value)}`];
  }));
}

// opts: { autoscale: bool, tls: bool, metricsScrape: bool, route: "nginx"|"traefik"|"gateway" } —
// what this overlay must (and must not) contain.
export function checkPolicy(objects, opts = {}) {
  const v = [];
  const fail = (msg) => v.push(msg);
  const byKind = (kind) => objects.filter((o) => o?.kind === kind);
  const one = (kind) => {
    const list = byKind(kind);
    if (list.length !== 1) fail(`expected exactly 1 ${kind}, found ${list.length}`);
    return list[0];
  };

  v.push(...checkExact(objects));

  // --- every object ---------------------------------------------------------
  for (const o of objects) {
    const id = `${o?.kind} ${o?.metadata?.name}`;
    if (!o?.metadata?.labels?.["app.kubernetes.io/name"]) fail(`${id}: missing label app.kubernetes.io/name`);
    if (!o?.metadata?.labels?.["app.kubernetes.io/part-of"]) fail(`${id}: missing label app.kubernetes.io/part-of`);
    // Everything but the Namespace itself lives in it (the manifests have no other cluster-scoped kind).
    if (o?.kind !== "Namespace" && o?.metadata?.namespace !== NAMESPACE)
      fail(`${id}: namespace is ${JSON.stringify(o?.metadata?.namespace)}, expected ${NAMESPACE}`);
  }

  const ns = one("Namespace");
  if (ns && ns.metadata?.name !== NAMESPACE) fail(`Namespace is ${ns.metadata?.name}, expected ${NAMESPACE}`);
  one("Service"); // its values, and the PodDisruptionBudget's: EXACT
  one("PodDisruptionBudget");

  // --- Deployment -----------------------------------------------------------
  const dep = one("Deployment");
  const hpas = byKind("HorizontalPodAutoscaler");
  if (!dep) return v;
  const spec = dep.spec ?? {};
  const tmpl = spec.template ?? {};
  const podLabels = tmpl.metadata?.labels ?? {};
  const pod = tmpl.spec ?? {};

  if (opts.autoscale) {
    if (hpas.length !== 1) fail(`autoscale: expected exactly 1 HorizontalPodAutoscaler, found ${hpas.length}`);
    if (spec.replicas !== undefined)
      fail("autoscale: Deployment must not set spec.replicas when an HPA owns the replica count");
  } else {
    if (hpas.length !== 0) fail(`unexpected HorizontalPodAutoscaler (only the autoscale overlay has one)`);
    if (spec.replicas !== REPLICAS) fail(`Deployment: replicas is ${spec.replicas}, expected ${REPLICAS}`);
  }

  if (!Object.entries(SELECTOR).every(([k, value]) => podLabels[k] === value))
    fail("Deployment: the pod template labels do not include the selector's (every selector is EXACT's)");

  const containers = pod.containers ?? [];
  if (containers.length !== 1) fail(`Pod: expected 1 container, found ${containers.length}`);
  const c = containers[0] ?? {};

  // Image: name:tag, never latest, never implicit.
  for (const ctr of [...containers, ...(pod.initContainers ?? [])]) {
    const image = String(ctr.image ?? "");
    const m = /^(.+?)(?::([\w][\w.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
    const tag = m?.[2];
    if (!tag && !image.includes("@sha256:")) fail(`container ${ctr.name}: image ${image} has no tag`);
    if (tag === "latest") fail(`container ${ctr.name}: image ${image} uses the latest tag`);
  }

  // The ports (EXACT) are the ones the settings open.
  const portOf = (name) => (c.ports ?? []).find((p) => p.name === name)?.containerPort;
  if (envValue(c, "PORT") !== portOf(PORT_NAME)) fail("container: env PORT differs from the http containerPort");
  if (envValue(c, "METRICS_PORT") !== portOf(METRICS_PORT_NAME))
    fail(`container: env METRICS_PORT differs from the ${METRICS_PORT_NAME} containerPort`);

  // Every variable the container gets is a setting of the service, in its form.
  for (const e of c.env ?? []) {
    const problem = settingProblem(e.name, e.value);
    if (problem) fail(`container: env ${problem}`);
  }

  // Graceful shutdown: grace period longer than drain + shutdown, and readiness
  // fails within the drain window.
  const drain = envValue(c, "DRAIN_SECONDS");
  const shutdown = envValue(c, "SHUTDOWN_TIMEOUT_SECONDS");
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace > drain + shutdown))
    fail(`Pod: terminationGracePeriodSeconds (${grace}) must exceed DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS (${drain + shutdown})`);
  const rp = c.readinessProbe ?? {};
  const notReadyAfter = (rp.periodSeconds ?? 10) * (rp.failureThreshold ?? 3);
  if (notReadyAfter > drain)
    fail(`readinessProbe: a draining pod is marked unready after up to ${notReadyAfter}s, longer than DRAIN_SECONDS (${drain})`);

  // --- the public route (route_policy.mjs): its objects, and the namespace it comes from ---
  const controllerNamespace = checkRoute(objects, opts, fail);

  // --- NetworkPolicy: the base one (named as the Deployment) admits only the route's controller, on http.
  const nps = byKind("NetworkPolicy");
  const np = nps.find((o) => o.metadata?.name === dep.metadata?.name);
  if (nps.length !== (opts.metricsScrape ? 2 : 1) || !np)
    fail(`expected exactly ${opts.metricsScrape ? 2 : 1} NetworkPolicy (the base one named ${dep.metadata?.name}), found ${nps.length}`);
  const admitted = [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": controllerNamespace } } }], ports: [{ protocol: "TCP", port: PORT_NAME }] }];
  if (np && !isDeepStrictEqual(np.spec?.ingress, admitted))
    fail(`NetworkPolicy: ingress is ${JSON.stringify(np.spec?.ingress)}, must admit only the ${controllerNamespace} namespace (the route's controller) on ${PORT_NAME}: ${JSON.stringify(admitted)}`);

  return v;
}
