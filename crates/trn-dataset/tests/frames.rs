//! Frame images in every format DATASET.md allows read back to the same digital numbers
//! and full scale; other files are refused naming the file and what is wrong.

use std::path::{Path, PathBuf};
use trn_dataset::image::{FrameFormat, frame_format, frame_size, read_frame, write_png};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-frames-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 4 x 3 ramp over `0..=top`.
fn ramp(top: u32) -> Vec<u16> {
    (0..12u32).map(|i| (i * top / 11) as u16).collect()
}

/// Frames keep their sensor's full scale: 8-bit files 255, a 12-bit sensor's 16-bit files
/// 4095 (their sBIT chunk), 16-bit ones 65535; pixels round-trip exactly.
#[test]
fn png_frames_keep_their_full_scale() {
    let d = dir("png");
    for (bits, full) in [(8u32, 255.0f32), (12, 4095.0), (16, 65535.0)] {
        let px = ramp((1u32 << bits) - 1);
        let path = d.join(format!("f{bits}.png"));
        write_png(&path, 4, 3, bits, &px).unwrap();
        let f = read_frame(&path).unwrap();
        assert_eq!(
            (f.width, f.height, f.full_scale),
            (4, 3, full),
            "{bits} bits"
        );
        let want: Vec<f32> = px.iter().map(|&v| f32::from(v)).collect();
        assert_eq!(f.pixels, want, "{bits} bits");
        assert_eq!(frame_size(&path).unwrap(), (4, 3));
        assert_eq!(frame_format(&path).unwrap(), FrameFormat::Png);
    }
    let _ = std::fs::remove_dir_all(&d);
}

fn write_tiff<C>(path: &Path, data: &[C::Inner])
where
    C: tiff::encoder::colortype::ColorType,
    [C::Inner]: tiff::encoder::TiffValue,
{
    let f = std::fs::File::create(path).unwrap();
    let mut enc = tiff::encoder::TiffEncoder::new(f).unwrap();
    enc.write_image::<C>(4, 3, data).unwrap();
}

/// TIFF frames of 8 and 16 bits read with their type's full scale, float ones with their
/// largest sample; a colour TIFF is refused.
#[test]
fn tiff_frames_in_three_sample_types() {
    use tiff::encoder::colortype::{Gray8, Gray16, Gray32Float, RGB8};
    let d = dir("tiff");
    let p8 = d.join("f8.tif");
    let v8: Vec<u8> = ramp(255).iter().map(|v| *v as u8).collect();
    write_tiff::<Gray8>(&p8, &v8);
    let p16 = d.join("f16.tif");
    let v16 = ramp(65535);
    write_tiff::<Gray16>(&p16, &v16);
    let pf = d.join("ff.tif");
    let vf: Vec<f32> = (0..12).map(|i| i as f32 * 0.25).collect();
    write_tiff::<Gray32Float>(&pf, &vf);
    for (path, full, want) in [
        (
            &p8,
            255.0,
            v8.iter().map(|v| f32::from(*v)).collect::<Vec<_>>(),
        ),
        (&p16, 65535.0, v16.iter().map(|v| f32::from(*v)).collect()),
        (&pf, 2.75, vf.clone()),
    ] {
        let f = read_frame(path).unwrap();
        assert_eq!(
            (f.width, f.height, f.full_scale),
            (4, 3, full),
            "{}",
            path.display()
        );
        assert_eq!(f.pixels, want);
        assert_eq!(frame_size(path).unwrap(), (4, 3));
    }
    let prgb = d.join("rgb.tif");
    write_tiff::<RGB8>(&prgb, &[0u8; 36]);
    let e = read_frame(&prgb).unwrap_err().to_string();
    assert!(e.contains("rgb.tif") && e.contains("colour type"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Binary PGM of 8 and 16 bits (maxval the full scale, comments in the header); truncated
/// data and other files are refused naming the file.
#[test]
fn pgm_frames_and_refusals() {
    let d = dir("pgm");
    let p8 = d.join("f8.pgm");
    let mut b = b"P5\n# a comment\n4 3\n255\n".to_vec();
    b.extend((0..12u8).map(|i| i * 20));
    std::fs::write(&p8, &b).unwrap();
    let f = read_frame(&p8).unwrap();
    assert_eq!((f.width, f.height, f.full_scale), (4, 3, 255.0));
    assert_eq!(f.pixels[11], 220.0);
    let p12 = d.join("f12.pgm");
    let mut b = b"P5 4 3 4095\n".to_vec();
    for v in ramp(4095) {
        b.extend(v.to_be_bytes());
    }
    std::fs::write(&p12, &b).unwrap();
    let f = read_frame(&p12).unwrap();
    assert_eq!((f.full_scale, f.pixels[11]), (4095.0, 4095.0));
    assert_eq!(frame_size(&p12).unwrap(), (4, 3));
    b.truncate(b.len() - 3);
    std::fs::write(&p12, &b).unwrap();
    let e = read_frame(&p12).unwrap_err().to_string();
    assert!(e.contains("f12.pgm") && e.contains("truncated"), "{e}");
    // A header longer than one read (a long comment) is sized like it is read.
    let plong = d.join("long.pgm");
    let mut b = format!("P5\n#{}\n4 3\n255\n", "c".repeat(3000)).into_bytes();
    b.extend([7u8; 12]);
    std::fs::write(&plong, &b).unwrap();
    assert_eq!(frame_size(&plong).unwrap(), (4, 3));
    assert_eq!(read_frame(&plong).unwrap().pixels, vec![7.0; 12]);
    // Sizes that overflow, numbers that do not parse, a header that never ends.
    for (name, bytes) in [
        ("huge.pgm", b"P5 4294967296 4294967296 255\n".to_vec()),
        ("digits.pgm", b"P5 12345678901234567890123 3 255\n".to_vec()),
        ("open.pgm", b"P5 4 3".to_vec()),
    ] {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_frame(&p).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("PGM header"), "{e}");
        assert!(frame_size(&p).is_err());
    }
    let other = d.join("x.jpg");
    std::fs::write(&other, b"\xff\xd8\xff\xe0 not a frame").unwrap();
    let e = read_frame(&other).unwrap_err().to_string();
    assert!(
        e.contains("x.jpg") && e.contains("not a PNG, TIFF or binary PGM"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
