# End-to-end runs of cmedit-cli's editing commands on a small real model (the golden set's
# class-conditional 32-px UNet with a model card), checking the invariants on the files written.

# The test model: the golden checkpoint and a card made from its manifest.
set(TEST_MODEL "${CMAKE_CURRENT_BINARY_DIR}/test_model")
file(READ "${CMEDIT_GOLDEN_DIR}/unet_a/manifest.json" manifest)
string(JSON architecture GET "${manifest}" config)
file(COPY "${CMEDIT_GOLDEN_DIR}/unet_a/model.pt" DESTINATION "${TEST_MODEL}")
file(WRITE "${TEST_MODEL}/model.json" "{
  \"format\": \"cmedit-model-card\", \"format_version\": 1, \"name\": \"golden-unet-a\",
  \"parameterization\": \"cm\", \"architecture\": ${architecture},
  \"sigma_min\": 0.002, \"sigma_max\": 80.0, \"sigma_data\": 0.5,
  \"schedule_points\": 40, \"default_ts\": [0, 22, 39], \"weights\": \"model.pt\",
  \"license\": \"test model with random weights\", \"provenance\": \"tests/data/golden/unet_a\"
}
")

add_executable(cli_fixture cli/cli_fixture.cpp)
target_link_libraries(cli_fixture PRIVATE cm_edit cm_imageio cm_train ${OpenCV_LIBS} PkgConfig::CMEDIT_PHOTO_LIBS)
target_include_directories(cli_fixture SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
cmedit_warnings(cli_fixture)
cmedit_use_torch_pch(cli_fixture)

set(D "${CMAKE_CURRENT_BINARY_DIR}/cli_files")
set(CLI $<TARGET_FILE:cmedit-cli>)
set(FX $<TARGET_FILE:cli_fixture>)
set(M --model ${TEST_MODEL} --no-progress)
add_test(NAME cli.edit_inputs COMMAND ${FX} make ${D})
set_tests_properties(cli.edit_inputs PROPERTIES FIXTURES_SETUP cli_files)

cmedit_cli_test(cli.generate FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --steps 2 --batch 2 --seed 3 -o ${D}/gen.png --json
  EXIT 0 STDOUT "\"evaluations\": 2"
  THEN ${FX} size ${D}/gen-0.png 32 32 && ${FX} size ${D}/gen-1.png 32 32)
cmedit_cli_test(cli.generate_same_seed_same_image FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --seed 9 -o ${D}/seed9a.png
  EXIT 0
  THEN ${CLI} generate ${M} --seed 9 -o ${D}/seed9b.png && ${FX} same ${D}/seed9a.png ${D}/seed9b.png)
cmedit_cli_test(cli.inpaint FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask.png ${M} --ts 0,22,39 -o ${D}/inpainted.png
  EXIT 0
  THEN ${FX} same-outside ${D}/photo.png ${D}/inpainted.png ${D}/mask.png 0 0 && ${FX} alpha ${D}/photo.png ${D}/inpainted.png
       && ${FX} depth ${D}/inpainted.png 8)
# The mask means what it says: at the defaults (a warm start at the edit's strength, no grow, no
# feather) every pixel outside the white part is bit-identical, and the report names the strength.
cmedit_cli_test(cli.inpaint_defaults_keep_everything_outside_the_mask FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask.png ${M} -o ${D}/inpainted_default.png --json
  EXIT 0 STDOUT "\"strength\": 0\\.[0-9]+"
  THEN ${FX} same-outside ${D}/photo.png ${D}/inpainted_default.png ${D}/mask.png 0 0)
# The exemplar start (patches copied from the photo) keeps the mask's promise too, and the report
# names the start it was asked for.
cmedit_cli_test(cli.inpaint_exemplar_fill FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask.png ${M} --fill exemplar -o ${D}/inpainted_exemplar.png --json
  EXIT 0 STDOUT "\"fill\": \"exemplar\""
  THEN ${FX} same-outside ${D}/photo.png ${D}/inpainted_exemplar.png ${D}/mask.png 0 0)
cmedit_cli_test(cli.inpaint_16bit FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo16.png --mask ${D}/mask16.png ${M} --grow 1 --feather 3 -o ${D}/inpainted16.png
  EXIT 0
  THEN ${FX} same-outside ${D}/photo16.png ${D}/inpainted16.png ${D}/mask16.png 1 3 && ${FX} depth ${D}/inpainted16.png 16)
cmedit_cli_test(cli.colorize_with_hints FIXTURE cli_files
  COMMAND ${CLI} colorize ${D}/grey16.png --hints ${D}/hints.png ${M} --steps 2 -o ${D}/colored.png
  EXIT 0
  THEN ${FX} luma ${D}/grey16.png ${D}/colored.png 3e-5 && ${FX} chroma-at ${D}/hints.png ${D}/colored.png 1e-4
       && ${FX} depth ${D}/colored.png 16)
cmedit_cli_test(cli.superres FIXTURE cli_files
  COMMAND ${CLI} superres ${D}/low16.png --scale 4 ${M} --steps 2 -o ${D}/sr.png
  EXIT 0
  THEN ${FX} size ${D}/sr.png 52 44 && ${FX} means ${D}/low16.png ${D}/sr.png 4 3e-5 && ${FX} depth ${D}/sr.png 16)
cmedit_cli_test(cli.sketch FIXTURE cli_files
  COMMAND ${CLI} sketch ${D}/photo.png --strength 45% --steps 2 --mask ${D}/mask.png ${M} -o ${D}/sketched.png
  EXIT 0
  THEN ${FX} same-outside ${D}/photo.png ${D}/sketched.png ${D}/mask.png 2 8)
cmedit_cli_test(cli.denoise FIXTURE cli_files
  COMMAND ${CLI} denoise ${D}/noisy.png ${M} -o ${D}/denoised.png --json
  EXIT 0 STDOUT "\"sigma_8bit_levels\": [0-9.]+"
  THEN ${FX} size ${D}/denoised.png 64 64)
# Only where the mask is (no grow, no feather on the CLI): every other pixel comes back as it was.
cmedit_cli_test(cli.denoise_mask FIXTURE cli_files
  COMMAND ${CLI} denoise ${D}/photo.png --mask ${D}/mask.png --sigma 20 --mirrors 2 --threads 2 ${M} -o ${D}/denoised_mask.png
  EXIT 0
  THEN ${FX} same-outside ${D}/photo.png ${D}/denoised_mask.png ${D}/mask.png 0 0)
cmedit_cli_test(cli.error_passes FIXTURE cli_files
  COMMAND ${CLI} denoise ${D}/photo.png --passes 3 ${M} -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: denoise --passes must be a whole number in 0…2, got 3\n$")
cmedit_cli_test(cli.error_threads FIXTURE cli_files
  COMMAND ${CLI} denoise ${D}/photo.png --threads 0 ${M} -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: --threads needs at least 1, got 0\n$")
cmedit_cli_test(cli.interpolate FIXTURE cli_files
  COMMAND ${CLI} interpolate --seeds 1,2 --frames 3 ${M} -o ${D}/frames.png
  EXIT 0
  THEN ${FX} size ${D}/frames-0.png 32 32 && ${FX} size ${D}/frames-2.png 32 32)

# Every error is one line on stderr and a distinct exit status.
cmedit_cli_test(cli.error_missing_input FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/nope.png --mask ${D}/mask.png ${M} -o ${D}/x.png
  EXIT 3 STDERR "^cmedit-cli: [^\n]*nope.png[^\n]*\n$")
cmedit_cli_test(cli.error_truncated_input FIXTURE cli_files
  COMMAND ${CLI} colorize ${D}/truncated.png ${M} -o ${D}/x.png
  EXIT 4 STDERR "cmedit-cli: cannot decode [^\n]*truncated.png': not an image, or corrupt or truncated\n$")
cmedit_cli_test(cli.error_not_an_image FIXTURE cli_files
  COMMAND ${CLI} denoise ${D}/not_an_image.png ${M} -o ${D}/x.png
  EXIT 4 STDERR "^cmedit-cli: cannot decode [^\n]*not_an_image.png")
cmedit_cli_test(cli.error_mask_size FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask_small.png ${M} -o ${D}/x.png
  EXIT 5 STDERR "^cmedit-cli: the mask is 20×20 pixels but the image is 48×40\n$")
cmedit_cli_test(cli.error_unknown_model FIXTURE cli_files
  COMMAND ${CLI} generate --model nosuchmodel -o ${D}/x.png
  EXIT 3 STDERR "^cmedit-cli: unknown model 'nosuchmodel'")
cmedit_cli_test(cli.error_bad_scale FIXTURE cli_files
  COMMAND ${CLI} superres ${D}/low16.png --scale 3 ${M} -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: super-resolution scales by 2, 4 or 8, not 3\n$")
cmedit_cli_test(cli.error_bad_steps FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --steps many -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: --steps needs a whole number, got 'many'\n$")
cmedit_cli_test(cli.error_no_output FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask.png ${M}
  EXIT 2 STDERR "^cmedit-cli: inpaint needs -o OUT\n$")
cmedit_cli_test(cli.error_no_mask FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png ${M} -o ${D}/x.png
  EXIT 2 STDERR "needs --mask MASK")
cmedit_cli_test(cli.error_unknown_option FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --frobnicate -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: unknown option '--frobnicate' for generate\n$")
cmedit_cli_test(cli.error_bad_class FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --class 12 -o ${D}/x.png
  EXIT 2 STDERR "class 12 does not exist: model 'golden-unet-a' has classes 0…9")
cmedit_cli_test(cli.error_bad_strength FIXTURE cli_files
  COMMAND ${CLI} sketch ${D}/photo.png --strength 100 ${M} -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: --strength must lie in 0…1 \\(or 0%…100%\\), got '100'\n$")
cmedit_cli_test(cli.error_bad_fill FIXTURE cli_files
  COMMAND ${CLI} inpaint ${D}/photo.png --mask ${D}/mask.png --fill patchmatch ${M} -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: --fill takes auto\\|smooth\\|exemplar, got 'patchmatch'\n$")
cmedit_cli_test(cli.error_strength_on_generate FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --strength 0.5 -o ${D}/x.png
  EXIT 2 STDERR "^cmedit-cli: unknown option '--strength' for generate\n$")
cmedit_cli_test(cli.error_unknown_format FIXTURE cli_files
  COMMAND ${CLI} generate ${M} -o ${D}/x.xyz
  EXIT 6 STDERR "unknown image format '.xyz'")
cmedit_cli_test(cli.builtin_model_by_default FIXTURE cli_files
  COMMAND ${CMAKE_COMMAND} -E env --unset=CMEDIT_MODEL ${CLI} generate --no-progress -o ${D}/builtin.png
  EXIT 0 STDERR "wrote .*builtin.png"
  THEN ${FX} size ${D}/builtin.png 64 64)
cmedit_cli_test(cli.error_missing_model_in_env FIXTURE cli_files
  COMMAND ${CMAKE_COMMAND} -E env CMEDIT_MODEL=${D}/no_such_model ${CLI} generate -o ${D}/x.png
  EXIT 3 STDERR "no_such_model")
cmedit_cli_test(cli.error_cuda_missing FIXTURE cli_files
  COMMAND ${CLI} generate ${M} --device cuda:9 -o ${D}/x.png
  EXIT 7 STDERR "CUDA")

# A folder of images: parallel, resumable, a corrupt file reported and skipped (tests/cli/folder_batch.sh).
add_test(NAME cli.folder_batch COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/folder_batch.sh ${CLI} ${TEST_MODEL} ${FX} ${D})
set_tests_properties(cli.folder_batch PROPERTIES FIXTURES_REQUIRED cli_files PASS_REGULAR_EXPRESSION "folder_batch: PASSED")

# Data safety: full disk, read-only folder, odd and huge inputs (tests/cli/data_safety.sh).
add_test(NAME cli.data_safety
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/data_safety.sh ${CLI} ${TEST_MODEL} ${D} ${CMAKE_SOURCE_DIR})
set_tests_properties(cli.data_safety PROPERTIES FIXTURES_REQUIRED cli_files PASS_REGULAR_EXPRESSION "data_safety: PASSED")

# Photos as phones give them (EXIF, XMP, Display P3; HEIC): the edit keeps what the camera wrote and
# the photo's colours, and the options to leave them out do (core/imageio/metadata.h, color_profile.h).
set(P ${CMAKE_CURRENT_BINARY_DIR}/phone_files)
add_test(NAME cli.phone_inputs COMMAND ${FX} phone-photos ${P})
set_tests_properties(cli.phone_inputs PROPERTIES FIXTURES_SETUP phone_files)
cmedit_cli_test(cli.inpaint_keeps_exif_and_the_colour_profile FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/phone.jpg --mask ${P}/dot.png ${M} -o ${P}/out.jpg
  EXIT 0
  THEN ${FX} tag ${P}/out.jpg Exif.Image.Model "Fixture Camera" && ${FX} tag ${P}/out.jpg Exif.Photo.DateTimeOriginal "2026:12:05 10:11:12"
       && ${FX} tag ${P}/out.jpg Exif.Image.Orientation 1 && ${FX} tag ${P}/out.jpg profile "Display P3")
cmedit_cli_test(cli.a_p3_photo_with_an_empty_mask_comes_back_as_it_was FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/p3.png --mask ${P}/none.png ${M} -o ${P}/p3_out.png
  EXIT 0
  THEN ${FX} values-close ${P}/p3.png ${P}/p3_out.png 1 && ${FX} tag ${P}/p3_out.png profile "Display P3")
cmedit_cli_test(cli.strip_metadata_keeps_only_the_colour_profile FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/phone.jpg --mask ${P}/dot.png ${M} --strip-metadata -o ${P}/private.jpg
  EXIT 0
  THEN ${FX} tag ${P}/private.jpg Exif.Image.Model - && ${FX} tag ${P}/private.jpg profile "Display P3")
cmedit_cli_test(cli.srgb_tags_the_output_srgb FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/phone.jpg --mask ${P}/dot.png ${M} --srgb -o ${P}/srgb.png
  EXIT 0
  THEN ${FX} tag ${P}/srgb.png profile "sRGB built-in" && ${FX} tag ${P}/srgb.png Exif.Image.Model "Fixture Camera")
cmedit_cli_test(cli.a_heic_photo_opens_and_keeps_its_exif FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/phone.heic --mask ${P}/dot.png ${M} -o ${P}/from_heic.png
  EXIT 0
  THEN ${FX} size ${P}/from_heic.png 40 30 && ${FX} tag ${P}/from_heic.png Exif.Image.Make "cmedit test")
cmedit_cli_test(cli.a_folder_batch_keeps_exif FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/phones --masks ${P}/phone_masks ${M} -o ${P}/batch_out
  EXIT 0
  THEN ${FX} tag ${P}/batch_out/phone.jpg Exif.Image.Model "Fixture Camera" && ${FX} tag ${P}/batch_out/phone.jpg profile "Display P3")
cmedit_cli_test(cli.a_camera_raw_is_developed_and_written_as_16_bit_tiff FIXTURE phone_files
  COMMAND ${CLI} inpaint ${P}/shot.dng --mask ${P}/dot_raw.png ${M} -o ${P}/shot.tif
  EXIT 0
  THEN ${FX} size ${P}/shot.tif 64 48 && ${FX} depth ${P}/shot.tif 16 && ${FX} tag ${P}/shot.tif Exif.Image.Model "Test DNG")
cmedit_cli_test(cli.a_raw_that_crashes_libraw_is_one_line FIXTURE phone_files
  COMMAND ${CLI} inpaint ${CMAKE_SOURCE_DIR}/fuzz/corpus/raw/finding-libraw-parse-tiff-ifd-segv.dng --mask ${P}/dot_raw.png ${M} -o ${P}/never.tif
  EXIT 4 STDERR "LibRaw crashed on it")
