# End-to-end runs of cmedit-train on a few synthetic photos: pack → edm → export (a teacher) →
# cd from it → export; ct → stop → resume → export → cmedit-cli generate; and its errors.

set(T $<TARGET_FILE:cmedit-train>)
set(P "${CMAKE_CURRENT_BINARY_DIR}/train_files")
set(TINY --size 16 --channels 32 --res-blocks 1 --mult 1,2 --attention 8 --batch 4 --threads 1)
set(QUIET --log-every 2 --sample-every 3 --checkpoint-every 3)

add_test(NAME train.photos COMMAND ${CMAKE_COMMAND} -E rm -rf ${P})
add_test(NAME train.make_photos COMMAND ${FX} photos ${P}/photos 10)
set_tests_properties(train.photos PROPERTIES FIXTURES_SETUP train_clean)
set_tests_properties(train.make_photos PROPERTIES FIXTURES_SETUP train_photos FIXTURES_REQUIRED train_clean)
cmedit_cli_test(train.pack FIXTURE train_photos
  COMMAND ${T} pack ${P}/photos ${P}/photos.cmpack --test-fraction 0.3 --weights-license CC0-1.0
  EXIT 0 STDOUT "photos.cmpack: [0-9]+ training photos, [0-9]+ held out"
  THEN ${T} info ${P}/photos.cmpack)
set_tests_properties(train.pack PROPERTIES FIXTURES_SETUP train_pack)

cmedit_cli_test(train.pack_manifest_only FIXTURE train_photos
  COMMAND ${T} pack ${P}/photos ${P}/subset.cmpack --manifest ${P}/photos/licences.tsv --manifest-only --jpeg 90
  EXIT 0 STDOUT "subset.cmpack: 3 training photos, 1 held out")

cmedit_cli_test(train.help COMMAND ${T} --help EXIT 0 STDOUT "usage: cmedit-train")
cmedit_cli_test(train.no_command COMMAND ${T} EXIT 2 STDERR "usage: cmedit-train")
cmedit_cli_test(train.unknown_command COMMAND ${T} fly EXIT 2 STDERR "^cmedit-train: unknown command 'fly'")
cmedit_cli_test(train.needs_data_and_run COMMAND ${T} ct --run ${P}/x
  EXIT 2 STDERR "^cmedit-train: cmedit-train ct needs --data DATA and --run RUN\n$")
cmedit_cli_test(train.missing_data COMMAND ${T} ct --data ${P}/nothing --run ${P}/x
  EXIT 3 STDERR "no training data at")
cmedit_cli_test(train.corrupt_pack FIXTURE train_photos COMMAND ${T} ct --data ${P}/photos/not_a_pack.cmpack --run ${P}/x
  EXIT 4 STDERR "image pack .*not_a_pack.cmpack.*header")
cmedit_cli_test(train.unknown_option FIXTURE train_pack COMMAND ${T} ct --data ${P}/photos.cmpack --run ${P}/x --frobnicate 3
  EXIT 2 STDERR "unknown option '--frobnicate'")
cmedit_cli_test(train.bad_number FIXTURE train_pack COMMAND ${T} ct --data ${P}/photos.cmpack --run ${P}/x --lr fast
  EXIT 2 STDERR "--lr needs a number, got 'fast'")
cmedit_cli_test(train.resume_not_a_run COMMAND ${T} resume ${P}/nothing EXIT 3 STDERR "is not a training run")
cmedit_cli_test(train.export_not_a_run COMMAND ${T} export ${P}/nothing ${P}/m EXIT 3 STDERR "is not a training run")

# iCT from a folder of photos (the broken file is skipped), stopped early, resumed, exported, used.
cmedit_cli_test(train.ct FIXTURE train_photos
  COMMAND ${T} ct --data ${P}/photos --test-fraction 0.3 --run ${P}/ct ${TINY} ${QUIET} --iterations 8 --until 4
  EXIT 0 STDERR "step 4/4.*checkpoint"
  THEN ${T} resume ${P}/ct --log-every 2 --threads 1
    && ${T} export ${P}/ct ${P}/ct_model --license CC0-1.0
    && ${CLI} generate --model ${P}/ct_model --steps 2 --no-progress -o ${P}/ct_sample.png
    && ${FX} size ${P}/ct_sample.png 16 16)
set_tests_properties(train.ct PROPERTIES FIXTURES_SETUP train_ct_model)
cmedit_cli_test(train.ct_fine_tunes_a_model FIXTURE train_ct_model
  COMMAND ${T} ct --data ${P}/photos --run ${P}/ft --init ${P}/ct_model --iterations 2 --batch 4 --threads 1 --sample-every 0
  EXIT 0 STDERR "starting from the weights of .*ct_model.*step 2/2")
cmedit_cli_test(train.init_needs_the_same_parameterization FIXTURE train_ct_model
  COMMAND ${T} edm --data ${P}/photos --run ${P}/ft2 --init ${P}/ct_model
  EXIT 2 STDERR "cmedit-train edm --init needs a model of parameterization \"edm\"")
cmedit_cli_test(train.ct_run_exists FIXTURE train_ct_model COMMAND ${T} ct --data ${P}/photos --run ${P}/ct
  EXIT 2 STDERR "holds a run already")

# EDM teacher on the pack, exported, then distilled (the student starts from the teacher's weights).
cmedit_cli_test(train.edm_then_cd FIXTURE train_pack
  COMMAND ${T} edm --data ${P}/photos.cmpack --run ${P}/edm ${TINY} ${QUIET} --iterations 3
  EXIT 0 STDERR "step 3/3"
  THEN ${T} export ${P}/edm ${P}/edm_model
    && ${T} cd --data ${P}/photos.cmpack --run ${P}/cd --teacher ${P}/edm_model ${QUIET} --iterations 3 --batch 4 --threads 1
    && ${T} export ${P}/cd ${P}/cd_model
    && ${CLI} generate --model ${P}/cd_model --steps 1 --no-progress -o ${P}/cd_sample.png)
cmedit_cli_test(train.cd_needs_an_edm_teacher FIXTURE train_ct_model
  COMMAND ${T} cd --data ${P}/photos --run ${P}/cd2 --teacher ${P}/ct_model
  EXIT 2 STDERR "the CD teacher must be an EDM denoiser")

# Data parallelism over loopback: 2 processes = 1, resume, a lost rank, batch division
# (tests/cli/distributed.sh). Needs a build with Gloo (libgloo-dev).
add_test(NAME train.distributed COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/distributed.sh ${T} ${FX} ${P}/photos.cmpack ${P})
set_tests_properties(train.distributed PROPERTIES FIXTURES_REQUIRED train_pack PASS_REGULAR_EXPRESSION "distributed: PASSED" TIMEOUT 300)

# scripts/gpu/campaign on the CPU: two windows of a tiny ECT campaign from the fixture's model and
# pack, continuation, the files that come back, an edit with the result, the carry budget.
add_test(NAME train.campaign
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/campaign.sh ${CMAKE_BINARY_DIR} ${P} ${P}/photos.cmpack ${P}/ct_model ${FX})
set_tests_properties(train.campaign PROPERTIES FIXTURES_REQUIRED "train_pack;train_ct_model" TIMEOUT 300)
