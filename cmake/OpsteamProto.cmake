# opsteam_proto_library(NAME ROOT <dir> PROTOS <files relative to ROOT> [GRPC <files>]
#                       [IMPORT_DIRS <dirs>] [DEPS <proto libraries>])
# Generates C++ (and gRPC stubs for the GRPC files) into the build tree and builds one
# static library; its headers are included as "opsteam/org/v1/org_service.grpc.pb.h".
# IMPORT_DIRS are further proto paths for imports, DEPS the libraries of those imports.
function(opsteam_proto_library name)
  cmake_parse_arguments(P "" "ROOT" "PROTOS;GRPC;IMPORT_DIRS;DEPS" ${ARGN})
  set(import_args)
  foreach(dir IN LISTS P_IMPORT_DIRS)
    list(APPEND import_args --proto_path=${dir})
  endforeach()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  set(srcs)
  foreach(proto IN LISTS P_PROTOS)
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(base ${proto} NAME_WE)
    set(pb_cc ${out}/${dir}/${base}.pb.cc)
    set(pb_h ${out}/${dir}/${base}.pb.h)
    list(FIND P_GRPC ${proto} has_grpc)
    if(has_grpc GREATER -1)
      set(grpc_cc ${out}/${dir}/${base}.grpc.pb.cc)
      set(grpc_h ${out}/${dir}/${base}.grpc.pb.h)
      add_custom_command(
        OUTPUT ${pb_cc} ${pb_h} ${grpc_cc} ${grpc_h}
        COMMAND protobuf::protoc --proto_path=${P_ROOT} ${import_args} --proto_path=${Protobuf_INCLUDE_DIRS}
                --cpp_out=${out} --grpc_out=${out}
                --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} ${P_ROOT}/${proto}
        DEPENDS ${P_ROOT}/${proto} protobuf::protoc
        COMMENT "protoc ${proto}" VERBATIM)
      list(APPEND srcs ${pb_cc} ${grpc_cc})
    else()
      add_custom_command(
        OUTPUT ${pb_cc} ${pb_h}
        COMMAND protobuf::protoc --proto_path=${P_ROOT} ${import_args} --proto_path=${Protobuf_INCLUDE_DIRS}
                --cpp_out=${out} ${P_ROOT}/${proto}
        DEPENDS ${P_ROOT}/${proto} protobuf::protoc
        COMMENT "protoc ${proto}" VERBATIM)
      list(APPEND srcs ${pb_cc})
    endif()
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} SYSTEM PUBLIC ${out} ${Protobuf_INCLUDE_DIRS})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${P_DEPS})
endfunction()
