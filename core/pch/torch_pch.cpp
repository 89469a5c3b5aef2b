// Gives CMake one source to compile the shared precompiled header (core/pch/torch_pch.h) with.
