# Cluster area: a real single-node Kubernetes 1.20 (tests/cluster/cluster.sh) runs the image that
# ships with the project's manifests. Every test has LABELS cluster; they share one cluster, up
# in cluster.up (fixture setup) and torn down in cluster.down (fixture cleanup, also after a
# failure), and run one at a time in this order. Needs root and cgroups; elsewhere each test
# exits 77 (skipped), a failure under FA_TESTS_NO_SKIP=1. Run: ctest --preset <name> -L cluster
set(_fa_cl_dir "${CMAKE_CURRENT_SOURCE_DIR}/tests/cluster")
set(_fa_cl_state "${CMAKE_BINARY_DIR}/cluster-state")

add_test(NAME cluster.shim
  COMMAND "${_fa_cl_dir}/shim_1_20.py" --check
          "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/minikube"
          "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/traefik"
          "${CMAKE_CURRENT_SOURCE_DIR}/manifests/overlays/autoscale")
set_tests_properties(cluster.shim PROPERTIES LABELS cluster SKIP_RETURN_CODE 77 TIMEOUT 60)

# Kubernetes 1.20 from Debian's source package: 7-15 min cold, cached in /var/cache/favorite-athlete.
add_test(NAME cluster.k8s_build COMMAND "${_fa_cl_dir}/cluster.sh" build)
set_tests_properties(cluster.k8s_build PROPERTIES
  LABELS cluster FIXTURES_SETUP fa_k8s_bin SKIP_RETURN_CODE 77 TIMEOUT 2700 PROCESSORS 2)

add_test(NAME cluster.up COMMAND "${_fa_cl_dir}/cluster.sh" up "${_fa_cl_state}")
add_test(NAME cluster.down COMMAND "${_fa_cl_dir}/cluster.sh" down "${_fa_cl_state}")
set_tests_properties(cluster.up PROPERTIES FIXTURES_SETUP fa_cluster FIXTURES_REQUIRED fa_k8s_bin TIMEOUT 400)
set_tests_properties(cluster.down PROPERTIES FIXTURES_CLEANUP fa_cluster TIMEOUT 300)
set_tests_properties(cluster.up cluster.down PROPERTIES LABELS cluster SKIP_RETURN_CODE 77 RESOURCE_LOCK fa_cluster)

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
  add_test(NAME cluster.${_fa_cl_name} COMMAND "${_fa_cl_dir}/${_fa_cl_script}" "${_fa_cl_state}" ${_fa_cl_arg})
  set_tests_properties(cluster.${_fa_cl_name} PROPERTIES
    LABELS cluster SKIP_RETURN_CODE 77 TIMEOUT ${_fa_cl_timeout} RESOURCE_LOCK fa_cluster
    FIXTURES_REQUIRED fa_cluster DEPENDS "${_fa_cl_previous}")
  set(_fa_cl_previous cluster.${_fa_cl_name})
endforeach()
set_tests_properties(cluster.image PROPERTIES FIXTURES_REQUIRED "fa_cluster;${_fa_static_fixture}"
  RESOURCE_LOCK "fa_cluster;podman")
