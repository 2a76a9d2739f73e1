# Bad input to the example programs (issue "main job", item 6): each test expects one clear
# line naming the file, option or shape, the exit code, and no output left behind — not
# even a partial or temporary file. Inputs are made at configure time in bad_inputs/.
set(_bad ${CMAKE_CURRENT_BINARY_DIR}/bad_inputs)
set(_out ${_bad}/out)  # where the (never written) outputs would go
set(_case ${PROJECT_SOURCE_DIR}/tests/golden/components/pipeline.recon/tiny_t8)
file(MAKE_DIRECTORY ${_out})
file(WRITE ${_bad}/corrupt.mp4 "this is not a video\n")
# A weights folder holding the wrong file under every published name (the combined file
# of the golden case: every key has a stage prefix the released files do not have).
foreach(_name effnet_encoder.safetensors previewer.safetensors s1024.effn-f32.safetensors
        vae/diffusion_pytorch_model.safetensors)
  get_filename_component(_dir ${_bad}/wrong_file/${_name} DIRECTORY)
  file(MAKE_DIRECTORY ${_dir})
  file(COPY_FILE ${_case}/weights.safetensors ${_bad}/wrong_file/${_name} ONLY_IF_DIFFERENT)
endforeach()
file(WRITE ${_bad}/junk/effnet_encoder.safetensors "junk\n")
file(WRITE ${_bad}/junk/previewer.safetensors "junk\n")
file(MAKE_DIRECTORY ${_bad}/truncated)
execute_process(COMMAND head -c 4000 ${_case}/weights.safetensors OUTPUT_FILE ${_bad}/truncated/weights.safetensors)
file(MAKE_DIRECTORY ${_bad}/empty_folder)

function(cascadev_expect_failure name)
  cmake_parse_arguments(X "" "MESSAGE;EXIT_CODE;REQUIRES" "COMMAND;ABSENT" ${ARGN})
  if(NOT X_EXIT_CODE)
    set(X_EXIT_CODE 1)
  endif()
  string(REPLACE ";" "::" _cmd "${X_COMMAND}")
  string(REPLACE ";" "::" _absent "${X_ABSENT}")
  add_test(NAME examples.bad_input.${name}
           COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${_cmd}" "-DMESSAGE=${X_MESSAGE}" -DEXIT_CODE=${X_EXIT_CODE}
                   "-DABSENT=${_absent}" "-DCLEAN=${_out}::${_bad}" -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_failure.cmake)
  set_tests_properties(examples.bad_input.${name} PROPERTIES LABELS examples)
  if(X_REQUIRES)
    set_tests_properties(examples.bad_input.${name} PROPERTIES FIXTURES_REQUIRED ${X_REQUIRES})
  endif()
endfunction()

set(_enc $<TARGET_FILE:cascadev-encode>)
set(_dec $<TARGET_FILE:cascadev-decode>)
set(_rec $<TARGET_FILE:cascadev-reconstruct>)
set(_tiny --variant tiny --size 64 --quiet)
set(_enc_out ${_out}/lat.safetensors ${_out}/lat.preview.mp4 ${_out}/lat.preview.safetensors)
set(_rec_out ${_out}/recon)

# --- encode
cascadev_expect_failure(encode.missing_video COMMAND ${_enc} ${_bad}/no_such.mp4 ${_out}/lat.safetensors --weights ${_case} ${_tiny}
  MESSAGE "no_such.mp4: no such file" ABSENT ${_enc_out})
cascadev_expect_failure(encode.too_few_frames COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_case} ${_tiny} --frames 16
  MESSAGE "io.safetensors: has 8 frame\\(s\\), 16 were asked for \\(--frames\\)" ABSENT ${_enc_out})
cascadev_expect_failure(encode.too_few_frames_with_stride COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_case} ${_tiny} --frames 5 --stride 2
  MESSAGE "io.safetensors: has 8 frame\\(s\\), 5 were asked for \\(--frames with --stride\\)" ABSENT ${_enc_out})
cascadev_expect_failure(encode.bad_size COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_case} --variant tiny --size 48 --quiet
  MESSAGE "--size 48: must be a positive multiple of 32" ABSENT ${_enc_out})
cascadev_expect_failure(encode.output_under_a_file COMMAND ${_enc} ${_case}/io.safetensors ${_bad}/corrupt.mp4/lat.safetensors --weights ${_case} ${_tiny}
  MESSAGE "OUT .*corrupt.mp4/lat.safetensors: the folder .*corrupt.mp4 does not exist" ABSENT ${_enc_out})
cascadev_expect_failure(encode.bad_preview_type COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --preview ${_out}/p.gif --weights ${_case} ${_tiny}
  MESSAGE "--preview .*p.gif: unknown output type" ABSENT ${_enc_out} ${_out}/p.gif)
cascadev_expect_failure(encode.wrong_weights_file COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_bad}/wrong_file ${_tiny}
  MESSAGE "wrong_file/effnet_encoder.safetensors: weights do not match the model.*missing key \"backbone.0.0.weight\".*is it the right file\\?"
  ABSENT ${_enc_out})
cascadev_expect_failure(encode.junk_weights_file COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_bad}/junk ${_tiny}
  MESSAGE "junk/effnet_encoder.safetensors: not a checkpoint cascadev can read" ABSENT ${_enc_out})
cascadev_expect_failure(encode.truncated_weights_file COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_bad}/truncated ${_tiny}
  MESSAGE "truncated/weights.safetensors: " ABSENT ${_enc_out})
cascadev_expect_failure(encode.missing_weights COMMAND ${_enc} ${_case}/io.safetensors ${_out}/lat.safetensors --weights ${_bad}/empty_folder ${_tiny}
  MESSAGE "missing effnet_encoder.safetensors \\(the EfficientNet encoder, published in Hugging Face stabilityai/StableWurst\\)"
  ABSENT ${_enc_out})
cascadev_expect_failure(encode.usage COMMAND ${_enc} ${_case}/io.safetensors EXIT_CODE 2
  MESSAGE "INPUT and OUT.safetensors are required \\(see --help\\)")

# --- decode
cascadev_expect_failure(decode.missing_latent COMMAND ${_dec} ${_bad}/no_such.safetensors ${_out}/v.safetensors --weights ${_case} --variant tiny
  MESSAGE "no_such.safetensors: no such file" ABSENT ${_out}/v.safetensors)
cascadev_expect_failure(decode.not_a_latent COMMAND ${_dec} ${_case}/io.safetensors ${_out}/v.safetensors --key frames --weights ${_case} --variant tiny
  MESSAGE "io.safetensors: tensor \"frames\" has shape \\[8, 64, 66, 3\\], expected a semantic latent" ABSENT ${_out}/v.safetensors)
cascadev_expect_failure(decode.frames_not_slices COMMAND ${_dec} ${_case}/io.safetensors ${_out}/v.safetensors --slice-size 3 --weights ${_case} --variant tiny
  MESSAGE "8 frame\\(s\\) are not a multiple of the decoder's slice size 3 \\(--slice-size\\)" ABSENT ${_out}/v.safetensors)
cascadev_expect_failure(decode.bad_output_type COMMAND ${_dec} ${_case}/io.safetensors ${_out}/v.gif --weights ${_case} --variant tiny
  MESSAGE "OUT .*v.gif: unknown output type" ABSENT ${_out}/v.gif)
cascadev_expect_failure(decode.output_under_a_file COMMAND ${_dec} ${_case}/io.safetensors ${_bad}/corrupt.mp4/v.safetensors --weights ${_case} --variant tiny
  MESSAGE "the folder .*corrupt.mp4 does not exist")
cascadev_expect_failure(decode.junk_latent COMMAND ${_dec} ${_bad}/junk/previewer.safetensors ${_out}/v.safetensors --weights ${_case} --variant tiny
  MESSAGE "junk/previewer.safetensors: " ABSENT ${_out}/v.safetensors)

# --- reconstruct (its outputs go to a folder that must not be left behind either)
cascadev_expect_failure(reconstruct.missing_video COMMAND ${_rec} ${_bad}/no_such.mp4 --weights ${_case} ${_tiny} --out ${_rec_out}
  MESSAGE "no_such.mp4: no such file" ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.too_few_frames COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} ${_tiny} --frames 12 --out ${_rec_out}
  MESSAGE "has 8 frame\\(s\\), 12 were asked for \\(--frames\\)" ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.bad_size COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} --variant tiny --size 100 --quiet --out ${_rec_out}
  MESSAGE "--size 100: must be a positive multiple of 32" ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.size_too_small COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} --variant tiny --size 32 --quiet --out ${_rec_out}
  MESSAGE "frames of 32x32 give a 4x4 refine latent, smaller than the DiT's \\(dit.tiny_s8\\) input_size 8; use a larger --size"
  ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.frames_not_slices COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} ${_tiny} --frames 6 --out ${_rec_out}
  MESSAGE "6 frame\\(s\\) are not a multiple of the decoder's slice size 4 \\(--slice-size\\)" ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.output_under_a_file COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} ${_tiny} --out ${_bad}/corrupt.mp4/recon
  MESSAGE "--out .*corrupt.mp4/recon: cannot create the folder")
cascadev_expect_failure(reconstruct.wrong_weights_file COMMAND ${_rec} ${_case}/io.safetensors --weights ${_bad}/wrong_file ${_tiny} --out ${_rec_out}
  MESSAGE "wrong_file/effnet_encoder.safetensors: weights do not match the model" ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.missing_weights COMMAND ${_rec} ${_case}/io.safetensors --weights ${_bad}/empty_folder ${_tiny} --out ${_rec_out}
  MESSAGE "missing effnet_encoder.safetensors \\(the EfficientNet encoder, published in Hugging Face stabilityai/StableWurst\\)"
  ABSENT ${_rec_out})
cascadev_expect_failure(reconstruct.bad_rng COMMAND ${_rec} ${_case}/io.safetensors --weights ${_case} ${_tiny} --rng dice --out ${_rec_out}
  EXIT_CODE 2 MESSAGE "--rng: expected torch, torch-cuda\\[:GPU\\] or philox" ABSENT ${_rec_out})

# --- corrupt and truncated videos, too few frames in a real video (FFmpeg builds): the
# truncated one is cut from the demo's reconstruction.mp4.
if(TARGET cascadev::video_io)
  set(_demo_mp4 ${CMAKE_CURRENT_BINARY_DIR}/demo_out/reconstruction.mp4)
  add_test(NAME examples.bad_input.make_truncated_video COMMAND sh -c "head -c 3000 '${_demo_mp4}' > '${_bad}/truncated.mp4'")
  set_tests_properties(examples.bad_input.make_truncated_video PROPERTIES LABELS examples
    FIXTURES_REQUIRED cascadev_reconstruct_demo FIXTURES_SETUP cascadev_truncated_video)
  foreach(_tool enc rec)
    set(_outs ${_enc_out})
    set(_dest ${_out}/lat.safetensors)
    if(_tool STREQUAL "rec")
      set(_outs ${_rec_out})
      set(_dest --out ${_rec_out})
    endif()
    set(_name encode)
    if(_tool STREQUAL "rec")
      set(_name reconstruct)
    endif()
    cascadev_expect_failure(${_name}.corrupt_video COMMAND ${_${_tool}} ${_bad}/corrupt.mp4 ${_dest} --weights ${_case} ${_tiny}
      MESSAGE "corrupt.mp4: cannot open as a video or image file" ABSENT ${_outs})
    cascadev_expect_failure(${_name}.truncated_video COMMAND ${_${_tool}} ${_bad}/truncated.mp4 ${_dest} --weights ${_case} ${_tiny}
      MESSAGE "truncated.mp4: " ABSENT ${_outs} REQUIRES cascadev_truncated_video)
    cascadev_expect_failure(${_name}.video_too_short COMMAND ${_${_tool}} ${_demo_mp4} ${_dest} --weights ${_case} ${_tiny} --frames 12
      MESSAGE "reconstruction.mp4: has 8 frame\\(s\\), 12 were asked for \\(--frames\\)" ABSENT ${_outs} REQUIRES cascadev_reconstruct_demo)
  endforeach()
endif()
