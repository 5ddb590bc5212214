// Proves the policy check fails when what it checks is broken: takes renders that pass, breaks
// each one way at a time, and expects each breakage to produce the matching violation
// (manifest_checks.mjs policy_negative).
import { checkPolicy } from "./policy.mjs";

// renders: the objects of the renders minikube, metrics_scrape, traefik and gateway_combined.
// Returns true when every broken variant is rejected.
export function policyNegative(renders) {
  const { minikube: good, metrics_scrape: goodScrape, traefik: goodTraefik, gateway_combined: goodGateway } = renders;
  const find = (objs, kind) => objs.find((o) => o.kind === kind);
  const ctr = (objs) => find(objs, "Deployment").spec.template.spec.containers[0];
  const podSpec = (objs) => find(objs, "Deployment").spec.template.spec;
  const scrapePolicy = (objs) => objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name !== "favorite-athlete");
  const np = (o) => find(o, "NetworkPolicy").spec.ingress[0].from[0].namespaceSelector.matchLabels;
  const route = (o, name = "favorite-athlete") => o.find((x) => x.kind === "HTTPRoute" && x.metadata.name === name);

  // Each mutation: [description, mutate(objects), expected substring of a violation, and optionally
  // the policy's options to check with instead of the run's: a render checked as what it is not].
  // The default route's render (minikube, ingress-nginx).
  const minikube = [
    ["2 replicas", (o) => (find(o, "Deployment").spec.replicas = 2), "replicas is 2"],
    ["maxUnavailable 1", (o) => (find(o, "Deployment").spec.strategy.rollingUpdate.maxUnavailable = 1), "maxUnavailable must be 0"],
    ["no minReadySeconds", (o) => delete find(o, "Deployment").spec.minReadySeconds, "minReadySeconds"],
    ["selector mismatch", (o) => (find(o, "Deployment").spec.selector.matchLabels["app.kubernetes.io/name"] = "other"), "selector does not match"],
    ["image :latest", (o) => (ctr(o).image = "favorite-athlete:latest"), "latest tag"],
    ["image without tag", (o) => (ctr(o).image = "favorite-athlete"), "has no tag"],
    ["imagePullPolicy Always", (o) => (ctr(o).imagePullPolicy = "Always"), "imagePullPolicy"],
    ["liveness on /", (o) => (ctr(o).livenessProbe.httpGet.path = "/"), "livenessProbe path must be /healthz"],
    ["readiness on /healthz", (o) => (ctr(o).readinessProbe.httpGet.path = "/healthz"), "readinessProbe path must be /readyz"],
    ["readiness on port number", (o) => (ctr(o).readinessProbe.httpGet.port = 8080), "named port"],
    ["no startup probe", (o) => delete ctr(o).startupProbe, "startupProbe must be an httpGet probe"],
    ["port renamed", (o) => (ctr(o).ports[0].name = "web"), "needs a port named http"],
    ["no metrics port", (o) => (ctr(o).ports = ctr(o).ports.filter((p) => p.name !== "metrics")), "needs a port named metrics"],
    ["metrics port is the http port", (o) => (ctr(o).ports.find((p) => p.name === "metrics").containerPort = 8080), "must differ from port http"],
    ["METRICS_PORT env differs", (o) => (ctr(o).env.find((e) => e.name === "METRICS_PORT").value = "9090"), "env METRICS_PORT differs"],
    ["scraped on the public port", (o) => (find(o, "Deployment").spec.template.metadata.annotations["prometheus.io/port"] = "8080"), "prometheus.io/port is 8080"],
    ["scrape path", (o) => (find(o, "Deployment").spec.template.metadata.annotations["prometheus.io/path"] = "/"), "prometheus.io/path"],
    ["metrics on the Service", (o) => find(o, "Service").spec.ports.push({ name: "metrics", port: 9797, targetPort: "metrics" }), "Service: port metrics exposes metrics"],
    ["metrics by number on the Service", (o) => find(o, "Service").spec.ports.push({ name: "m", port: 9797, targetPort: 9797 }), "only the container port http"],
    ["Ingress on a metrics Service port", (o) => {
      find(o, "Service").spec.ports.push({ name: "metrics", port: 9797, targetPort: "metrics" });
      find(o, "Ingress").spec.rules[0].http.paths[0].backend.service.port = { name: "metrics" };
    }, "Service: port metrics exposes metrics"],
    ["NetworkPolicy on the metrics port", (o) => (find(o, "NetworkPolicy").spec.ingress[0].ports[0].port = "metrics"), "not the container port"],
    ["short grace period", (o) => (podSpec(o).terminationGracePeriodSeconds = 15), "terminationGracePeriodSeconds"],
    ["slow readiness", (o) => (ctr(o).readinessProbe.periodSeconds = 10), "marked unready after"],
    ["runAsNonRoot false", (o) => (podSpec(o).securityContext.runAsNonRoot = false), "runAsNonRoot must be true"],
    ["root UID", (o) => (ctr(o).securityContext.runAsUser = 0), "runAsUser must be 65532"],
    ["writable root fs", (o) => (ctr(o).securityContext.readOnlyRootFilesystem = false), "readOnlyRootFilesystem"],
    ["privilege escalation", (o) => delete ctr(o).securityContext.allowPrivilegeEscalation, "allowPrivilegeEscalation"],
    ["capabilities kept", (o) => (ctr(o).securityContext.capabilities.drop = ["NET_RAW"]), "drop ALL"],
    ["capability added", (o) => (ctr(o).securityContext.capabilities.add = ["NET_ADMIN"]), "capabilities.add"],
    ["seccomp Unconfined", (o) => (podSpec(o).securityContext.seccompProfile.type = "Unconfined"), "RuntimeDefault"],
    ["token mounted", (o) => delete podSpec(o).automountServiceAccountToken, "automountServiceAccountToken"],
    ["no topology spread", (o) => delete podSpec(o).topologySpreadConstraints, "topologySpreadConstraint"],
    ["no memory limit", (o) => delete ctr(o).resources.limits.memory, "limits.memory"],
    ["no cpu request", (o) => delete ctr(o).resources.requests.cpu, "requests.cpu"],
    ["limit below request", (o) => (ctr(o).resources.limits.memory = "8Mi"), "memory limit below"],
    ["Service NodePort", (o) => (find(o, "Service").spec.type = "NodePort"), "ClusterIP"],
    ["Service targetPort number", (o) => (find(o, "Service").spec.ports[0].targetPort = 8080), "targetPort must be the container port name"],
    ["Service selector mismatch", (o) => (find(o, "Service").spec.selector["app.kubernetes.io/instance"] = "x"), "Service: selector"],
    ["Ingress class", (o) => (find(o, "Ingress").spec.ingressClassName = "traefik"), "ingressClassName"],
    ["Ingress host", (o) => (find(o, "Ingress").spec.rules[0].host = "favorite-athlete.local"), "nip.io"],
    ["Ingress pathType", (o) => (find(o, "Ingress").spec.rules[0].http.paths[0].pathType = "Exact"), "Prefix"],
    ["Ingress backend port", (o) => (find(o, "Ingress").spec.rules[0].http.paths[0].backend.service.port = { name: "web" }), "not a port of the Service"],
    ["Ingress backend service", (o) => (find(o, "Ingress").spec.rules[0].http.paths[0].backend.service.name = "other"), "backend service"],
    ["PDB keeps only 1", (o) => (find(o, "PodDisruptionBudget").spec.maxUnavailable = 2), "keeps 1 of 3"],
    ["PDB blocks drains", (o) => (find(o, "PodDisruptionBudget").spec = { minAvailable: 3, selector: find(o, "PodDisruptionBudget").spec.selector }), "no node can ever be drained"],
    ["PDB v1beta1", (o) => (find(o, "PodDisruptionBudget").apiVersion = "policy/v1beta1"), "policy/v1"],
    ["NetworkPolicy open", (o) => (find(o, "NetworkPolicy").spec.ingress[0].from = [{ namespaceSelector: {} }]), "is not only the ingress-nginx namespace"],
    ["NetworkPolicy admits Traefik's namespace", (o) => (find(o, "NetworkPolicy").spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"] = "kube-system"), "is not only the ingress-nginx namespace"],
    ["NetworkPolicy admits a second namespace", (o) => find(o, "NetworkPolicy").spec.ingress[0].from.push({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }), "is not only the ingress-nginx namespace"],
    ["NetworkPolicy source an ipBlock too", (o) => (find(o, "NetworkPolicy").spec.ingress[0].from[0].ipBlock = { cidr: "0.0.0.0/0" }), "is not only the ingress-nginx namespace"],
    ["an HTTPRoute beside the Ingress", (o) => o.push(structuredClone(find(goodGateway, "HTTPRoute"))), "nginx: unexpected HTTPRoute"],
    ["NetworkPolicy any port", (o) => delete find(o, "NetworkPolicy").spec.ingress[0].ports, "without `ports`"],
    ["NetworkPolicy wrong port", (o) => (find(o, "NetworkPolicy").spec.ingress[0].ports[0].port = 9090), "not the container port"],
    ["NetworkPolicy selector", (o) => (find(o, "NetworkPolicy").spec.podSelector = { matchLabels: { app: "x" } }), "NetworkPolicy: podSelector"],
    ["wrong namespace", (o) => (find(o, "Service").metadata.namespace = "default"), "namespace is \"default\""],
    ["a ServiceAccount outside the namespace", (o) => o.push({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "default", labels: find(o, "Service").metadata.labels } }), "ServiceAccount x: namespace is \"default\""],
    ["missing label", (o) => delete find(o, "Ingress").metadata.labels["app.kubernetes.io/name"], "missing label"],
    ["no Namespace", (o) => o.splice(o.indexOf(find(o, "Namespace")), 1), "expected exactly 1 Namespace"],
    ["unexpected HPA", (o) => o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "x", namespace: "favorite-athlete", labels: { "app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "x" } }, spec: {} }), "unexpected HorizontalPodAutoscaler"],
    ["unexpected tls", (o) => (find(o, "Ingress").spec.tls = [{ hosts: ["x"], secretName: "s" }]), "unexpected tls"],
  ];
  const unchanged = () => {};
  minikube.push(
    ["--autoscale without HPA", unchanged, "expected exactly 1 HorizontalPodAutoscaler", { autoscale: true }],
    ["--tls without tls", unchanged, "tls: Ingress needs exactly 1 tls entry", { tls: true }],
  );
  // components/metrics-scrape: the scraper's namespace reaches the metrics port, and nothing else.
  const scrape = [
    ["scrape policy on the http port", (o) => (scrapePolicy(o).spec.ingress[0].ports[0].port = "http"), "must admit the metrics port only"],
    ["scrape policy on any port", (o) => delete scrapePolicy(o).spec.ingress[0].ports, "must admit the metrics port only"],
    ["scrape policy from anywhere", (o) => (scrapePolicy(o).spec.ingress[0].from = [{ ipBlock: { cidr: "0.0.0.0/0" } }]), "namespace chosen by label"],
    ["scrape policy missing", (o) => o.splice(o.indexOf(scrapePolicy(o)), 1), "expected exactly 2 NetworkPolicy"],
  ];
  // Each route's own render: the NetworkPolicy follows its controller, the route has its shape.
  const traefik = [
    ["Traefik Ingress of class nginx", (o) => (find(o, "Ingress").spec.ingressClassName = "nginx"), "ingressClassName must be traefik"],
    ["Traefik's NetworkPolicy admits ingress-nginx", (o) => (np(o)["kubernetes.io/metadata.name"] = "ingress-nginx"), "is not only the kube-system namespace"],
  ];
  const gateway = [
    ["an Ingress beside the HTTPRoute", (o) => o.push(structuredClone(find(good, "Ingress"))), "gateway: unexpected Ingress"],
    ["no HTTPRoute", (o) => o.splice(o.indexOf(route(o)), 1), "expected the HTTPRoute favorite-athlete"],
    ["NetworkPolicy admits ingress-nginx", (o) => (np(o)["kubernetes.io/metadata.name"] = "ingress-nginx"), "is not only the gateway namespace"],
    ["NetworkPolicy not the Gateway's namespace", (o) => (route(o).spec.parentRefs[0].namespace = "nginx-gateway"), "is not only the nginx-gateway namespace"],
    ["parentRef to a Service", (o) => (route(o).spec.parentRefs[0].kind = "Service"), "parentRef must be a Gateway"],
    ["parentRef without namespace", (o) => delete route(o).spec.parentRefs[0].namespace, "the Gateway's name and namespace"],
    ["Exact path", (o) => (route(o).spec.rules[0].matches[0].path.type = "Exact"), "PathPrefix / only"],
    ["backend on the metrics port", (o) => (route(o).spec.rules[0].backendRefs[0].port = 9797), "not the Service's http port"],
    ["backend another Service", (o) => (route(o).spec.rules[0].backendRefs[0].name = "other"), "is not the Service"],
    ["host not nip.io", (o) => (route(o).spec.hostnames = ["athlete.local"]), "hostnames must be"],
    ["tls route on every listener", (o) => delete route(o).spec.parentRefs[0].sectionName, "must attach to the listener https"],
    ["redirect to http", (o) => (route(o, "favorite-athlete-redirect").spec.rules[0].filters[0].requestRedirect.scheme = "http"), "RequestRedirect to https"],
    ["redirect on the https listener", (o) => (route(o, "favorite-athlete-redirect").spec.parentRefs[0].sectionName = "https"), "listener http of the same Gateway"],
    ["redirect reaching the pods", (o) => (route(o, "favorite-athlete-redirect").spec.rules[0].backendRefs = [{ name: "favorite-athlete", port: 80 }]), "must not reach the Service"],
    ["no redirect route", (o) => o.splice(o.indexOf(route(o, "favorite-athlete-redirect")), 1), "expected 2 HTTPRoute(s)"],
    ["grant to another namespace", (o) => (find(o, "ReferenceGrant").spec.from[0].namespace = "default"), "only Gateways of gateway"],
    ["no grant", (o) => o.splice(o.indexOf(find(o, "ReferenceGrant")), 1), "expected 1 ReferenceGrant"],
    ["a --tls render checked without --tls", unchanged, "gateway: expected 1 HTTPRoute(s), found 2", { route: "gateway", autoscale: true }],
  ];

  const runs = [
    ["minikube", good, {}, minikube],
    ["metrics-scrape", goodScrape, { metricsScrape: true }, scrape],
    ["traefik", goodTraefik, { route: "traefik" }, traefik],
    ["gateway --tls", goodGateway, { route: "gateway", tls: true, autoscale: true }, gateway],
  ];
  let total = 0;
  let failures = 0;
  for (const [runName, objs0, opts, mutations] of runs) {
    const base = checkPolicy(objs0, opts);
    if (base.length > 0) {
      console.error(`the unmodified ${runName} render must pass the policy, but: ${base.join("; ")}`);
      return false;
    }
    for (const [name, mutate, expected, checkOpts = opts] of mutations) {
      total++;
      const objs = structuredClone(objs0);
      mutate(objs);
      const hit = checkPolicy(objs, checkOpts).find((m) => m.includes(expected));
      if (hit) console.log(`ok   ${runName}: ${name}: ${hit}`);
      else {
        failures++;
        console.error(`FAIL ${runName}: ${name}: expected a violation containing ${JSON.stringify(expected)}, got ${JSON.stringify(checkPolicy(objs, checkOpts))}`);
      }
    }
  }
  console.log(`${total - failures}/${total} broken variants rejected`);
  return failures === 0;
}
