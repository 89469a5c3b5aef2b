// Two images of one format compared and copied a row at a time: what an undo step keeps of an
// applied edit (Document::replacePhoto), what the canvas redraws of a new preview (EditController),
// and the blocks the document and the canvas write (Document::writePixels, Canvas::setImagePart).
#pragma once

#include <QImage>
#include <QPoint>
#include <QRect>

namespace cm::ui {

// The bounding rectangle of the pixels inside `within` where two images of one size and format
// differ, found row by row (a 50 MP photo in a fraction of a second); empty where they are equal,
// and the whole of `a` where their sizes or formats differ.
QRect differing_rect(const QImage& a, const QImage& b, QRect within);
inline QRect differing_rect(const QImage& a, const QImage& b) { return differing_rect(a, b, a.rect()); }

// Copies the block of `source` at `from`, of area's size, into `target` at area's top-left: the
// exact bits (16-bit photos included). The same format; `area` inside `target` and the block inside
// `source` (the caller clips).
void copy_block(const QImage& source, QPoint from, QImage& target, QRect area);

}  // namespace cm::ui
