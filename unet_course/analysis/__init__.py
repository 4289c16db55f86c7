"""Analysis that only reads models: receptive fields, transposed-convolution arithmetic, costs, levels.

- :mod:`~unet_course.analysis.receptive_field`: receptive fields of layer stacks and Keras models
- :mod:`~unet_course.analysis.transposed_conv`: transposed convolution by hand, overlap maps
- :mod:`~unet_course.analysis.profiling`: parameters, multiply-adds, activation memory, timings
- :mod:`~unet_course.analysis.levels`: shapes and parameters along the U of a ``build_unet`` model
"""
