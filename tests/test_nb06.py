

def test_valid_padding_tiles_stitch_exactly_and_same_padding_tiles_do_not():
    """Notebook 06's argument for valid padding: 16-row-apart tiles reproduce the whole prediction."""
    import keras as _keras
    import numpy as _np

    from unet_course.models import build_unet as _build

    def gap(padding, size, rows, step):
        _keras.utils.set_random_seed(0)
        whole_model = _build(size + (1,), 2, base_filters=2, padding=padding)
        tile_model = _build((rows, size[1], 1), 2, base_filters=2, padding=padding)
        tile_model.set_weights(whole_model.get_weights())
        image = _np.random.default_rng(2).random((1,) + size + (1,), dtype="float32")
        tiles = [tile_model.predict(image[:, s:s + rows], verbose=0) for s in range(0, size[0] - rows + 1, step)]
        stitched = _np.concatenate([t[:, :step] for t in tiles[:-1]] + [tiles[-1]], axis=1)
        return _np.abs(whole_model.predict(image, verbose=0) - stitched).max()

    assert gap("valid", (236, 188), 204, 16) < 1e-5
    assert gap("same", (192, 176), 96, 96) > 1e-3
