// EXPECT_CM_ERROR(statement, code, "part of the message"): the statement must throw cm::Error
// with that code and a message containing the text.
#pragma once

#include "core/base/error.h"

#include <gtest/gtest.h>

#include <string>

#define EXPECT_CM_ERROR(statement, expected_code, message_part)                                   \
  do {                                                                                             \
    try {                                                                                          \
      statement;                                                                                   \
      ADD_FAILURE() << "expected cm::Error from: " #statement;                                     \
    } catch (const cm::Error& e) {                                                                 \
      EXPECT_EQ(cm::to_string(e.code()), cm::to_string(expected_code)) << e.what();                \
      EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos)                       \
          << "message: " << e.what() << "\nshould contain: " << (message_part);                    \
    }                                                                                              \
  } while (false)
