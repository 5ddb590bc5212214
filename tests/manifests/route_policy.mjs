// The public route's part of the deployment policy: one route per overlay, and the namespace of its
// controller, the one policy.mjs's NetworkPolicy rule admits. checkRoute() pushes violations through fail().
// The route's fixed parts (path, backend, the redirect's filter) are rows of policy.mjs's EXACT.
//
// opts.route: "nginx" (overlays/minikube, the default), "traefik" or "gateway".
//   nginx, traefik: exactly one Ingress of that class; the NetworkPolicy admits the controller's
//                   namespace (ROUTES[route].namespace), no HTTPRoute.
//   gateway:        no Ingress; the HTTPRoute favorite-athlete attached to one Gateway; the
//                   NetworkPolicy admits that Gateway's namespace. With opts.tls: the route on the
//                   listener https, a redirect route on http, a ReferenceGrant for the Secret.

const ROUTES = {
  nginx: { ingressClass: "nginx", namespace: "ingress-nginx" },
  traefik: { ingressClass: "traefik", namespace: "kube-system" },
  gateway: {},
};
const GATEWAY_GROUP = "gateway.networking.k8s.io";
const HOST = /^favorite-athlete\.(\d{1,3}\.){3}\d{1,3}\.nip\.io$/;
// The Secret build-and-deploy.sh --tls creates (and cert-manager would), in the Ingress or the grant.
const TLS_SECRET = "favorite-athlete-tls";

function checkIngress(ing, opts, fail) {
  const want = ROUTES[opts.route].ingressClass;
  if (ing.spec?.ingressClassName !== want) fail(`Ingress: ingressClassName must be ${want}, is ${ing.spec?.ingressClassName}`);
  const rules = ing.spec?.rules ?? [];
  if (rules.length !== 1) fail(`Ingress: expected 1 rule, found ${rules.length}`);
  const host = rules[0]?.host ?? "";
  if (!HOST.test(host)) fail(`Ingress: host must be favorite-athlete.<ip>.nip.io, is ${host}`);
  const tls = ing.spec?.tls ?? [];
  if (opts.tls) {
    if (tls.length !== 1) fail(`tls: Ingress needs exactly 1 tls entry, found ${tls.length}`);
    else {
      if (tls[0].secretName !== TLS_SECRET) fail(`tls: Ingress tls secretName must be ${TLS_SECRET}, is ${tls[0].secretName}`);
      if (!(tls[0].hosts ?? []).includes(host)) fail(`tls: Ingress tls hosts ${JSON.stringify(tls[0].hosts)} do not include the rule host ${host}`);
    }
  } else if (tls.length) fail("Ingress: unexpected tls (only the tls overlay has it)");
}

// The parts of an HTTPRoute checkGateway compares (its one Gateway, its hosts), after checking it has one rule.
function checkHTTPRoute(route, fail) {
  const parents = route.spec?.parentRefs ?? [];
  if (parents.length !== 1) fail(`HTTPRoute ${route.metadata?.name}: expected 1 parentRef (the Gateway), found ${parents.length}`);
  const parent = parents[0] ?? {};
  if (!parent.name || !parent.namespace) fail(`HTTPRoute ${route.metadata?.name}: parentRef needs the Gateway's name and namespace`);
  const hosts = route.spec?.hostnames ?? [];
  if (hosts.length !== 1 || !HOST.test(hosts[0])) fail(`HTTPRoute ${route.metadata?.name}: hostnames must be [favorite-athlete.<ip>.nip.io], are ${JSON.stringify(hosts)}`);
  const rules = route.spec?.rules ?? [];
  if (rules.length !== 1) fail(`HTTPRoute ${route.metadata?.name}: expected 1 rule, found ${rules.length}`);
  return { parent, hosts };
}

function checkGateway(objects, opts, fail) {
  const routes = objects.filter((o) => o?.kind === "HTTPRoute");
  const route = routes.find((o) => o.metadata?.name === "favorite-athlete");
  if (!route) return fail("gateway: expected the HTTPRoute favorite-athlete");
  const main = checkHTTPRoute(route, fail);
  const redirect = routes.find((o) => o.metadata?.name === "favorite-athlete-redirect");
  if (routes.length !== (opts.tls ? 2 : 1)) fail(`gateway: expected ${opts.tls ? 2 : 1} HTTPRoute(s), found ${routes.length}`);
  const grants = objects.filter((o) => o?.kind === "ReferenceGrant");
  if (!opts.tls) {
    if (main.parent.sectionName) fail(`HTTPRoute: sectionName ${main.parent.sectionName} without tls (the route serves every listener)`);
    if (grants.length) fail("gateway: unexpected ReferenceGrant (only with tls)");
    return main.parent.namespace;
  }
  if (main.parent.sectionName !== "https") fail(`tls: HTTPRoute must attach to the listener https, attaches to ${main.parent.sectionName}`);
  if (redirect) {
    const r = checkHTTPRoute(redirect, fail);
    if (r.parent.name !== main.parent.name || r.parent.namespace !== main.parent.namespace || r.parent.sectionName !== "http")
      fail("tls: the redirect route must attach to the listener http of the same Gateway");
    if (r.hosts[0] !== main.hosts[0]) fail("tls: the redirect route must have the route's host");
  }
  const grant = grants.find((g) =>
    (g.spec?.to ?? []).some((t) => t.kind === "Secret" && (t.group ?? "") === "" && t.name === TLS_SECRET));
  if (grants.length !== 1 || !grant) fail(`tls: expected 1 ReferenceGrant for the Secret ${TLS_SECRET}, found ${grants.length}`);
  else if (!(grant.spec.from ?? []).every((f) => f.kind === "Gateway" && f.group === GATEWAY_GROUP && f.namespace === main.parent.namespace))
    fail(`tls: the ReferenceGrant must admit only Gateways of ${main.parent.namespace}, admits ${JSON.stringify(grant.spec.from)}`);
  return main.parent.namespace;
}

// The namespace the NetworkPolicy must admit, after checking the route objects.
export function checkRoute(objects, opts, fail) {
  const route = opts.route ?? "nginx";
  if (!ROUTES[route]) return fail(`unknown route ${route}`);
  const o = { ...opts, route };
  const ings = objects.filter((x) => x?.kind === "Ingress");
  if (route === "gateway") {
    if (ings.length) fail(`gateway: unexpected Ingress (found ${ings.length})`);
    return checkGateway(objects, o, fail);
  }
  if (objects.some((x) => x?.kind === "HTTPRoute")) fail(`${route}: unexpected HTTPRoute`);
  if (ings.length !== 1) fail(`expected exactly 1 Ingress, found ${ings.length}`);
  if (ings[0]) checkIngress(ings[0], o, fail);
  return ROUTES[route].namespace;
}

