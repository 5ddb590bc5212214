# Cluster area: a real single-node Kubernetes 1.20 (tests/cluster/cluster.sh) runs the image that
# ships with the project's manifests. Every test has LABELS cluster; they share one cluster, up
# in cluster.up (fixture setup) and torn down in cluster.down (fixture cleanup, also after a
# failure), and run one at a time in this order. Needs root and cgroups; elsewhere each test
# exits 77 (skipped), a failure under FA_TESTS_NO_SKIP=1. Run: ctest --preset <name> -L cluster
set(_fa_cl_dir "${CMAKE_CURRENT_SOURCE_DIR}/tests/cluster")
set(_fa_cl_state "${CMAKE_BINARY_DIR}/cluster-state")

fa_test(cluster.shim cluster 60 "${_fa_cl_dir}/shim_1_20.py" --check
  "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/minikube"
  "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/traefik"
  "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/autoscale")

# Kubernetes 1.20 from Debian's source package: 7-15 min cold, cached in /var/cache/favorite-athlete.
fa_test(cluster.k8s_build cluster 2700 "${_fa_cl_dir}/cluster.sh" build)
set_tests_properties(cluster.k8s_build PROPERTIES FIXTURES_SETUP fa_k8s_bin PROCESSORS 2)

fa_test(cluster.up cluster 400 "${_fa_cl_dir}/cluster.sh" up "${_fa_cl_state}")
fa_test(cluster.down cluster 300 "${_fa_cl_dir}/cluster.sh" down "${_fa_cl_state}")
set_tests_properties(cluster.up PROPERTIES FIXTURES_SETUP fa_cluster FIXTURES_REQUIRED fa_k8s_bin)
set_tests_properties(cluster.down PROPERTIES FIXTURES_CLEANUP fa_cluster)
set_tests_properties(cluster.up cluster.down PROPERTIES RESOURCE_LOCK fa_cluster)

# In order: each needs the state the previous one left (images, then a deployment of cluster-a, ...).
set(_fa_cl_tests
  "image|image.sh|${_fa_static_bin}|300"
  "deploy|deploy.sh|new|300"
  "security|security.sh||120"
  "rollout_restart|disruption.sh|restart|300"
  "rollout_new_tag|disruption.sh|new-tag|300"
  "pod_delete|disruption.sh|delete|300"
  "liveness|disruption.sh|liveness|400"
  "drain|disruption.sh|drain|300"
  "broken_manifest|deploy.sh|broken|500"
  "traefik|deploy.sh|traefik|300"
  "delete|deploy.sh|delete|200")
set(_fa_cl_previous "")
foreach(_fa_cl_spec IN LISTS _fa_cl_tests)
  string(REPLACE "|" ";" _fa_cl_spec "${_fa_cl_spec}")
  list(GET _fa_cl_spec 0 _fa_cl_name)
  list(GET _fa_cl_spec 1 _fa_cl_script)
  list(GET _fa_cl_spec 2 _fa_cl_arg)
  list(GET _fa_cl_spec 3 _fa_cl_timeout)
  fa_test(cluster.${_fa_cl_name} cluster ${_fa_cl_timeout} "${_fa_cl_dir}/${_fa_cl_script}" "${_fa_cl_state}" ${_fa_cl_arg})
  set_tests_properties(cluster.${_fa_cl_name} PROPERTIES
    RESOURCE_LOCK fa_cluster FIXTURES_REQUIRED fa_cluster DEPENDS "${_fa_cl_previous}")
  set(_fa_cl_previous cluster.${_fa_cl_name})
endforeach()
set_tests_properties(cluster.image PROPERTIES FIXTURES_REQUIRED "fa_cluster;${_fa_static_fixture}"
  RESOURCE_LOCK "fa_cluster;podman")
