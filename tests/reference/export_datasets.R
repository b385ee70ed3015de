## export_datasets.R -- write the public example data sets used by the
## reference fixtures (and by the examples) to examples/data/*.csv.
##
## Run from the repository root:   Rscript tests/reference/export_datasets.R
##
## Format: write.csv(); when the data frame has real row names (not the
## automatic 1..n) they are kept as a first column named "id", otherwise no row
## names are written.  NA is written as an empty field.  Factors (iris$Species)
## are written as their labels.  Provenance and licences: examples/data/README.md.

suppressPackageStartupMessages({
  library(robustbase)
  library(rrcov)
  library(MASS)
})

script_dir <- local({                   # this folder, wherever R is started
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else if (dir.exists("tests/reference")) "tests/reference" else "."
})
out_dir <- normalizePath(file.path(script_dir, "..", "..", "examples", "data"), mustWork = FALSE)
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

data(hbk, starsCYG, wood, milk, bushfire, Animals2, radarImage, package = "robustbase")
data(octane, package = "rrcov")

sets <- list(
  stackloss = stackloss, mtcars = mtcars, swiss = swiss, USArrests = USArrests,
  iris = iris, airquality = airquality,
  hbk = hbk, starsCYG = starsCYG, wood = wood, milk = milk, bushfire = bushfire,
  Animals2 = Animals2, Animals = MASS::Animals,
  octane = octane,
  radarImage = radarImage, quakes = quakes
)

for (nm in names(sets)) {
  df <- sets[[nm]]
  has_names <- .row_names_info(df) > 0        # > 0: real (non-automatic) row names
  if (has_names) df <- cbind(id = rownames(df), df, stringsAsFactors = FALSE)
  f <- file.path(out_dir, paste0(nm, ".csv"))
  write.csv(df, f, row.names = FALSE, na = "")
  cat(sprintf("wrote %-55s %4d rows x %3d cols%s\n", f, nrow(df), ncol(df),
              if (has_names) " (with id)" else ""))
}
