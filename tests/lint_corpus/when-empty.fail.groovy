pipeline {
    agent any
    stages {
        stage('build') {
            when {  // <-- when-empty
                beforeAgent true
            }
            steps { echo 'x' }
        }
    }
}
