# FERRY_SANITIZE builds everything with ASan and UBSan; a UBSan finding aborts the test.
if(FERRY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
