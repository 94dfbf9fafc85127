//===- EngineState.h - what an fd_engine holds ------------------*- C++ -*-===//
//
// Shared by Engine.cpp (opening, stepping) and Generate.cpp (text,
// sampling, generation, chat).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_ENGINESTATE_H
#define FUSEDECODE_RUNTIME_ENGINESTATE_H

#include "fusedecode/engine.h"

#include "Backend.h"
#include "Bundle.h"
#include "Plan.h"
#include "Tokenizer.h"

#include <memory>
#include <string>
#include <vector>

struct fd_engine {
  fd::runtime::Bundle bundle;
  fd::runtime::Plan plan; // outlives the backend, which points into it
  std::unique_ptr<fd::runtime::Backend> backend;
  std::string device;
  int64_t vocab = 0;
  int32_t nextPosition = 0;

  // Loaded on first use from the bundle's tokenizer.json and chat.json.
  bool textLoaded = false;
  std::unique_ptr<fd::runtime::Tokenizer> tokenizer;
  std::string textError; // why there is no tokenizer
  struct Chat {
    bool present = false;
    std::string turnStart, turnEnd, generationPrompt, thinkingOn, thinkingOff;
  } chat;
  std::vector<int32_t> stopIds;
  fd_sampling defaultSampling{};

  // The sequence: tokens fed so far, and the last generated token, which
  // the next generate call feeds first (-1: none).
  std::vector<int32_t> history;
  int32_t pending = -1;
  std::vector<float> logits;
};

#endif
