# bench/pools.cmake - the C program of the pools benchmark (bench/pools.c,
# run by bench/pools.sh), included from bench/CMakeLists.txt.
add_executable(pools ${CMAKE_CURRENT_LIST_DIR}/pools.c)
target_compile_options(pools PRIVATE ${SEL_WARNINGS})
target_link_libraries(pools PRIVATE selector_static)
set_target_properties(pools PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
