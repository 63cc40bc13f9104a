public enum SriovRenderPlaceholder {}
