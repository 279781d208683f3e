# SPDX-License-Identifier: BSD-3-Clause
#
# CMake toolchain file: freestanding arm-none-eabi-gcc for the remote library.
#
#   cmake -S <project> -B <dir> \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DHVL_ARM_CPU=cortex-m4
#
# HVL_ARM_CPU selects the core and its ABI:
#   cortex-m4  -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
#   cortex-r5  -mcpu=cortex-r5 -marm   -mfloat-abi=hard -mfpu=vfpv3-d16
# Both add -ffreestanding -fno-builtin -ffunction-sections -fdata-sections.
# Warnings, -std=c11 and -Os belong to the project using this file
# (cmake/remote/CMakeLists.txt for scripts/cross-build.sh).
#
# Nothing is linked: the remote library is a static archive that a firmware
# image links with its own startup code and linker script, so try_compile
# builds static libraries instead of executables.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(HVL_ARM_CPU "cortex-m4" CACHE STRING "Target core: cortex-m4 or cortex-r5")
set_property(CACHE HVL_ARM_CPU PROPERTY STRINGS cortex-m4 cortex-r5)
# This file is read again inside try_compile projects: hand the choice down.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HVL_ARM_CPU)

set(HVL_ARM_PREFIX "arm-none-eabi-" CACHE STRING "Cross tool prefix")
find_program(HVL_ARM_GCC "${HVL_ARM_PREFIX}gcc")
if(NOT HVL_ARM_GCC)
  message(FATAL_ERROR "${HVL_ARM_PREFIX}gcc not found: install gcc-arm-none-eabi "
                      "and libnewlib-arm-none-eabi (scripts/deps.sh)")
endif()
set(CMAKE_C_COMPILER "${HVL_ARM_GCC}")
set(CMAKE_ASM_COMPILER "${HVL_ARM_GCC}")
find_program(CMAKE_AR "${HVL_ARM_PREFIX}gcc-ar")
find_program(CMAKE_RANLIB "${HVL_ARM_PREFIX}gcc-ranlib")
find_program(CMAKE_SIZE "${HVL_ARM_PREFIX}size")
find_program(CMAKE_OBJDUMP "${HVL_ARM_PREFIX}objdump")
find_program(CMAKE_NM "${HVL_ARM_PREFIX}nm")

set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(HVL_ARM_CPU STREQUAL "cortex-m4")
  set(_hvl_cpu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(HVL_ARM_CPU STREQUAL "cortex-r5")
  set(_hvl_cpu_flags "-mcpu=cortex-r5 -marm -mfloat-abi=hard -mfpu=vfpv3-d16")
else()
  message(FATAL_ERROR "HVL_ARM_CPU='${HVL_ARM_CPU}': expected cortex-m4 or cortex-r5")
endif()

set(CMAKE_C_FLAGS_INIT
    "${_hvl_cpu_flags} -ffreestanding -fno-builtin -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_hvl_cpu_flags}")

# Look for headers and libraries only in the cross sysroot, programs on the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
