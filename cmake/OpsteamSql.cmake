# opsteam_sql_migrations(TARGET <lib> NAMESPACE <c++ namespace> DIR <dir with NNNN_name.sql>)
# Embeds the migration files into a static library exposing
#   const std::vector<opsteam::pg::Migration>& <namespace>::Migrations();
# so a service binary carries its own schema.
function(opsteam_sql_migrations)
  cmake_parse_arguments(S "" "TARGET;NAMESPACE;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS ${S_DIR}/*.sql)
  list(SORT sql_files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${S_TARGET}.cc)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${S_NAMESPACE} "-DFILES=${sql_files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    DEPENDS ${sql_files} ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    COMMENT "embedding migrations of ${S_TARGET}" VERBATIM)
  add_library(${S_TARGET} STATIC ${out})
  target_link_libraries(${S_TARGET} PUBLIC opsteam_pg)
endfunction()
