// The edge of a painted mask (or sketch) as lines, for the canvas to draw over a preview. A tint over the
// result, however faint, changes its colours: a 20 % red over a green meadow's fill read as a brown
// disc at 100 %, and a user judging the fill judges the tint. An outline marks where the edit is
// and leaves every pixel of the result as it will be applied (Lightroom's healing spots do the same).
#pragma once

#include <QImage>
#include <QLineF>
#include <QRect>
#include <QVector>

namespace cm::ui {

// The lines between the pixels of `mask` (Grayscale8, or Alpha8: a painted layer's coverage) at or
// above half and those below, in image
// pixels along pixel edges, looked for within `area` (the mask's ink; pixels outside it count as
// unpainted, as do those beyond the image, so the outline closes at the border). A straight run of
// edge is one line: a 100-px square is four lines, not four hundred.
QVector<QLineF> mask_outline(const QImage& mask, QRect area);

}  // namespace cm::ui
