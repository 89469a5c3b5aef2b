// Runs one EditRequest to completion on the calling thread: the engine's worker calls it, tests
// may too. The only place that maps a request onto core/edit and core/sampling.
#pragma once

#include "core/engine/edit_request.h"
#include "core/model/model_card.h"
#include "core/sampling/consistency_loop.h"

namespace cm::engine {

// The schedule a request asks for on a model with this card. Throws cm::Error(BadArgument).
sampling::Schedule schedule_for(const EditRequest& request, const model::ModelCard& card);

// Checks a request against its edit's entry in the registry: inputs, strength, settings' ranges.
// Throws cm::Error(BadArgument).
void check_request(const EditRequest& request);
// The part that needs no tensors (strength, settings' ranges): the CLI checks it before reading files.
void check_request_settings(const EditRequest& request);

// What a run uses besides its request, which stays a value: progress reports, and what the caller
// keeps between requests.
struct RunContext {
  sampling::LoopControl control;
  edit::ExemplarCache* exemplar_cache = nullptr;  // the engine's: one fill per photo and hole
};

// Checks the request (inputs present and shaped for its kind) and runs it. Throws cm::Error,
// including Cancelled (core/base/cancel.h); fills `timings` and, when given, `sigmas` (the
// levels evaluated; for denoise the one level used, estimated when the request has none).
at::Tensor execute(const model::ConsistencyFunction& f, const model::ModelCard& card, const EditRequest& request,
                   const RunContext& context, Timings& timings, std::vector<double>* sigmas = nullptr);

}  // namespace cm::engine
