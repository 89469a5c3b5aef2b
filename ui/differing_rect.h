// Where two images differ, as one rectangle: what an undo step keeps of an applied edit
// (Document::replacePhoto) and what the canvas redraws of a new preview (EditController).
#pragma once

#include <QImage>
#include <QRect>

namespace cm::ui {

// The bounding rectangle of the pixels where two images of one size and format differ, found
// row by row (a 50 MP photo in a fraction of a second); empty where they are equal, and the whole
// of `a` where their sizes or formats differ.
QRect differing_rect(const QImage& a, const QImage& b);

}  // namespace cm::ui
