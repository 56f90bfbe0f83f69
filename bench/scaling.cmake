# bench/scaling.cmake - the C program of the select() scaling benchmark
# (bench/scaling.c, run by bench/scaling.sh), included from
# bench/CMakeLists.txt.  It reads the size of the core's key, so it sees
# the library's private csrc/lib/internal.h.
add_executable(scaling ${CMAKE_CURRENT_LIST_DIR}/scaling.c)
target_compile_options(scaling PRIVATE ${SEL_WARNINGS})
target_include_directories(scaling PRIVATE ${SEL_PRIVATE_INCLUDE})
target_link_libraries(scaling PRIVATE selector_static)
set_target_properties(scaling PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
